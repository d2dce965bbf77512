"""A malformed election manifest is refused with a ManifestError that says what is wrong."""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saksi.errors import ManifestError
from saksi.manifest.load import load_manifest, parse_manifest
from saksi.manifest.model import ContestKind, SourceKind

EXAMPLE = Path(__file__).resolve().parents[2] / "src" / "saksi" / "examples" / "pemilu2019.toml"

Document = dict[str, Any]


def _document() -> Document:
    """A small valid manifest: a PPWP contest, a DPR party list by dapil, two sources."""
    return {
        "election": {"id": "pilkada-2029", "name": "Uji", "origin": "saksi.test/uji"},
        "contest": [
            {
                "id": "PPWP",
                "name": "Presiden",
                "kind": "pairs",
                "choices": [{"id": "01", "name": "Pasangan A"}, {"id": "02", "name": "B"}],
            },
            {
                "id": "DPR",
                "name": "DPR RI",
                "kind": "party_list",
                "dapil": [
                    {
                        "id": "DKI-1",
                        "name": "DKI Jakarta I",
                        "regions": ["31"],
                        "party": [
                            {
                                "id": "P1",
                                "name": "Partai Satu",
                                "candidates": [{"id": "P1.1", "name": "Calon"}],
                            }
                        ],
                    }
                ],
            },
        ],
        "source": [
            {
                "id": "kpps",
                "name": "KPPS",
                "kind": "official",
                "fields": ["suara_sah", "suara_tidak_sah", "dpt"],
                "required": ["suara_sah"],
            },
            {"id": "saksi-a", "name": "Saksi Partai A", "kind": "party_witness"},
        ],
    }


def test_the_base_document_is_valid() -> None:
    manifest = parse_manifest(_document())
    assert manifest.election_id == "pilkada-2029"
    assert [c.kind for c in manifest.contests] == [ContestKind.PAIRS, ContestKind.PARTY_LIST]
    assert [s.kind for s in manifest.sources] == [SourceKind.OFFICIAL, SourceKind.PARTY_WITNESS]
    assert manifest.sources[1].fields == ()


Edit = Callable[[Document], object]


def _set(path: tuple[Any, ...], value: Any) -> Edit:
    def edit(document: Document) -> None:
        target: Any = document
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return edit


def _delete(path: tuple[Any, ...]) -> Edit:
    def edit(document: Document) -> None:
        target: Any = document
        for step in path[:-1]:
            target = target[step]
        del target[path[-1]]

    return edit


def _append(path: tuple[Any, ...], value: Any) -> Edit:
    def edit(document: Document) -> None:
        target: Any = document
        for step in path:
            target = target[step]
        target.append(value)

    return edit


PPWP_CHOICES = ("contest", 0, "choices")
DPR_PARTY = ("contest", 1, "dapil", 0, "party")
KPPS = ("source", 0)

CASES: list[tuple[str, Edit, str]] = [
    ("no election table", _delete(("election",)), r"needs an \[election\] table"),
    ("election not a table", _set(("election",), "pemilu"), r"needs an \[election\] table"),
    (
        "election id with capitals",
        _set(("election", "id"), "Pemilu2019"),
        r"\[election\]: 'id' = 'Pemilu2019' does not match",
    ),
    (
        "election id with a space",
        _set(("election", "id"), "pemilu 2019"),
        r"'id' = 'pemilu 2019' does not match",
    ),
    ("election id missing", _delete(("election", "id")), "'id' must be a non-empty string"),
    ("election name blank", _set(("election", "name"), "  "), "'name' must be a non-empty"),
    ("origin missing", _delete(("election", "origin")), "'origin' must be a non-empty"),
    (
        "max DPT not positive",
        _set(("election", "domestic_tps_max_dpt"), 0),
        "'domestic_tps_max_dpt' must be a positive integer",
    ),
    (
        "max DPT a boolean",
        _set(("election", "domestic_tps_max_dpt"), True),
        "'domestic_tps_max_dpt' must be a positive integer",
    ),
    (
        "contest id in lower case",
        _set(("contest", 0, "id"), "ppwp"),
        r"contest ppwp: 'id' = 'ppwp' does not match",
    ),
    (
        "source id in upper case",
        _set((*KPPS, "id"), "KPPS"),
        r"source KPPS: 'id' = 'KPPS' does not match",
    ),
    (
        "choice id starting with a dash",
        _set((*PPWP_CHOICES, 0, "id"), "-1"),
        r"contest PPWP: 'id' = '-1' does not match",
    ),
    (
        "party id with a space",
        _set((*DPR_PARTY, 0, "id"), "P 1"),
        r"contest DPR, dapil DKI-1: 'id' = 'P 1' does not match",
    ),
    ("unknown contest kind", _set(("contest", 0, "kind"), "referendum"), "'kind' must be one of"),
    ("contest kind missing", _delete(("contest", 0, "kind")), "contest PPWP: 'kind' must be"),
    ("unknown source kind", _set((*KPPS, "kind"), "pollster"), "source kpps: 'kind' must be"),
    (
        "unknown form field",
        _set((*KPPS, "fields"), ["suara_sah", "suara_tidak_sah", "dpt", "total_suara"]),
        r"source kpps: unknown form field\(s\) total_suara; known fields are dpt,",
    ),
    (
        "required field not in fields",
        _set((*KPPS, "required"), ["suara_sah", "pengguna_hak_pilih"]),
        r"source kpps: required field\(s\) pengguna_hak_pilih are not in 'fields'",
    ),
    ("fields not a list", _set((*KPPS, "fields"), "suara_sah"), "'fields' must be a list"),
    (
        "a field that is not a name",
        _set((*KPPS, "fields"), [["suara_sah"]]),
        r"source kpps: unknown form field\(s\) \['suara_sah'\]",
    ),
    (
        "a required field that is not a name",
        _set((*KPPS, "required"), [1]),
        r"source kpps: required field\(s\) 1 are not in 'fields'",
    ),
    (
        "duplicate choice ids",
        _append(PPWP_CHOICES, {"id": "01", "name": "Lagi"}),
        "contest PPWP: choice ids repeat: 01",
    ),
    (
        "a candidate repeating a party id",
        _append((*DPR_PARTY, 0, "candidates"), {"id": "P1", "name": "Calon"}),
        "contest DPR, dapil DKI-1: choice ids repeat: P1",
    ),
    (
        "duplicate contest ids",
        _append(
            ("contest",),
            {"id": "PPWP", "name": "Lagi", "kind": "pairs", "choices": [{"id": "01", "name": "A"}]},
        ),
        "contest ids repeat: PPWP$",
    ),
    (
        "duplicate source ids",
        _append(("source",), {"id": "saksi-a", "name": "Lagi", "kind": "crowd"}),
        "source ids repeat: saksi-a$",
    ),
    (
        "duplicate dapil ids",
        lambda d: d["contest"][1]["dapil"].append(copy.deepcopy(d["contest"][1]["dapil"][0])),
        "contest DPR: dapil ids repeat",
    ),
    (
        "a misspelt contest key",
        _set(("contest", 0, "choise"), []),
        r"contest PPWP: unknown key\(s\) choise; the keys here are",
    ),
    (
        "a misspelt source key",
        _set((*KPPS, "requierd"), ["suara_sah"]),
        r"source kpps: unknown key\(s\) requierd",
    ),
    ("no official source", _set((*KPPS, "kind"), "crowd"), "needs the official source"),
    ("no sources", _set(("source",), []), r"defines no \[\[source\]\]"),
    ("no contests", _set(("contest",), []), r"defines no \[\[contest\]\]"),
    (
        "a contest without choices",
        _set(PPWP_CHOICES, []),
        "contest PPWP: a contest needs choices or at least one dapil",
    ),
    (
        "a dapil without regions",
        _set(("contest", 1, "dapil", 0, "regions"), []),
        "contest DPR, dapil DKI-1: 'regions' must list the region ids",
    ),
    ("a choice not a table", _set((*PPWP_CHOICES, 0), "01"), "choice 1 must be a table"),
    ("a contest not a table", _set(("contest", 0), "PPWP"), "contest 1 must be a table"),
    ("contests not a list", _set(("contest",), {"id": "PPWP"}), "'contest' must be a list"),
]


@pytest.mark.parametrize(("edit", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_malformed_manifest_gets_a_specific_error(edit: Edit, message: str) -> None:
    document = _document()
    edit(document)
    with pytest.raises(ManifestError, match=message):
        parse_manifest(document)


def test_load_manifest_reports_file_problems(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="does not exist"):
        load_manifest(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[election\nid = 1\n", encoding="utf-8")
    with pytest.raises(ManifestError, match="is not valid TOML"):
        load_manifest(broken)
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes(
        '[election]\nname = "Pemilu Daerah Istimewa Yogyakarta é"\n'.encode("latin-1")
    )
    with pytest.raises(ManifestError, match="is not UTF-8 text"):
        load_manifest(latin1)


def test_the_shipped_example_loads() -> None:
    manifest = load_manifest(EXAMPLE)
    assert manifest.election_id == "pemilu2019"
    assert [c.id for c in manifest.contest_by_id["PPWP"].choices] == ["01", "02"]


# Fuzz: replace one value anywhere in a valid document by an arbitrary TOML value.
toml_scalars = (
    st.text(max_size=8)
    | st.integers(-5, 400)
    | st.booleans()
    | st.floats(allow_nan=False)
    | st.sampled_from(["pairs", "official", "suara_sah", "01", "PPWP", "kpps", ""])
)
toml_values: st.SearchStrategy[Any] = st.recursive(
    toml_scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["id", "name", "kind", "fields", "x"]), children, max_size=3
        )
    ),
    max_leaves=6,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    paths = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            paths.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            paths.extend(_paths(item, (*prefix, index)))
    return paths


BASE_PATHS = _paths(_document())


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(BASE_PATHS), toml_values)
def test_parse_manifest_raises_only_manifest_error(path: tuple[Any, ...], value: Any) -> None:
    document = _document()
    _set(path, value)(document)
    try:
        manifest = parse_manifest(document)
    except ManifestError:
        return  # refused in election words; any other exception fails the test
    assert manifest.contests
    assert any(s.kind is SourceKind.OFFICIAL for s in manifest.sources)


def test_the_example_survives_a_toml_round_trip() -> None:
    document = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert parse_manifest(document) == load_manifest(EXAMPLE)
