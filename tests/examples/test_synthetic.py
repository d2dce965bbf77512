"""The synthetic national election: realistic, deterministic, with honest ground truth.

One election over DKI Jakarta (31) and Bali (51) plus a small overseas provinsi is built
once; each test checks one promise of saksi.examples.synthetic against it.
"""

from __future__ import annotations

import itertools
import json
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import saksi.examples
from conftest import DATA
from saksi.errors import SaksiError
from saksi.examples.synthetic import (
    CHOICES,
    KPPS_FIELDS,
    WITNESS_FIELDS,
    AnomalyPlan,
    SyntheticElection,
    generate,
    paper_form,
    write_truth,
)
from saksi.ingest.rules import check_rules, reserve_cap
from saksi.ingest.validate import validate_form
from saksi.manifest.load import load_manifest
from saksi.registry.entries import apply_registry_payload, registry_payloads
from saksi.registry.model import Registry, Tps, TpsKind

DATA_DIR = DATA / "pemilu2024"
MANIFEST = Path(saksi.examples.__file__).parent / "nasional2024.toml"
CAP = reserve_cap(300)
PLAN = AnomalyPlan(
    extra_digit=40,
    swapped_fields=20,
    total_in_candidate=20,
    inflated_turnout=20,
    missing_forms=15,
    source_disagreements=50,
    fixed_share_regions=("5101", "3174"),
    fixed_share=0.57,
)
PER_FORM_KINDS = ("extra_digit", "swapped_fields", "total_in_candidate", "inflated_turnout")


@pytest.fixture(scope="module")
def election() -> SyntheticElection:
    return generate(
        DATA_DIR, seed=2024, overseas_tps=400, anomalies=PLAN, limit_provinces=("31", "51")
    )


@pytest.fixture(scope="module")
def tps(election: SyntheticElection) -> dict[str, Tps]:
    return {t.id: t for _, tps_list in election.desas for t in tps_list}


@pytest.fixture(scope="module")
def planted(election: SyntheticElection) -> set[tuple[str, str]]:
    return {(e["tps"], e["source"]) for e in election.truth if "tps" in e}


def _by_tps(forms: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f["tps"]: f for f in forms}


def _value(form: dict[str, Any], name: str) -> int:
    value: int = form["votes"][name] if name in CHOICES else form["fields"][name]
    return value


def _rules(form: dict[str, Any], tps: Tps) -> list[str]:
    return check_rules(
        form["votes"],
        form["fields"],
        domestic=tps.kind is TpsKind.DOMESTIC,
        registry_dpt=tps.dpt,
        max_dpt=300,
    )


@pytest.fixture(scope="module")
def bali_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pemilu2024 files cut down to Bali, for the tests that generate many times."""
    out = tmp_path_factory.mktemp("pemilu2024-bali")
    for name in ("regions.csv", "tps_per_desa.csv"):
        lines = (DATA_DIR / name).read_text(encoding="utf-8").splitlines(keepends=True)
        (out / name).write_text(
            lines[0] + "".join(line for line in lines[1:] if line.startswith("51")),
            encoding="utf-8",
        )
    return out


def test_same_seed_gives_identical_output(bali_dir: Path, tmp_path: Path) -> None:
    plan = AnomalyPlan(extra_digit=5, swapped_fields=3, missing_forms=2, source_disagreements=4)
    first = generate(bali_dir, seed=11, overseas_tps=60, anomalies=plan)
    second = generate(bali_dir, seed=11, overseas_tps=60, anomalies=plan)
    other = generate(bali_dir, seed=12, overseas_tps=60, anomalies=plan)
    assert first == second
    write_truth(first.truth, tmp_path / "a.jsonl")
    write_truth(second.truth, tmp_path / "b.jsonl")
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert first.forms["kpps"] != other.forms["kpps"]
    assert first.truth != other.truth


def test_every_form_passes_the_validator_against_the_registry(
    election: SyntheticElection,
) -> None:
    manifest = load_manifest(MANIFEST)
    registry = Registry()
    for payload in registry_payloads(election.desas):
        apply_registry_payload(registry, payload)
    assert len(registry.tps) == sum(len(t) for _, t in election.desas)
    kpps_fields = next(s for s in manifest.sources if s.id == "kpps").fields
    assert set(KPPS_FIELDS) == set(kpps_fields)
    for source in manifest.sources:
        forms = election.forms[source.id]
        assert forms, source.id
        for form in forms[::7]:
            assert set(form["fields"]) == set(source.fields)
            validate_form(form, manifest, registry)


def test_unplanted_official_forms_break_no_rule(
    election: SyntheticElection, tps: dict[str, Tps], planted: set[tuple[str, str]]
) -> None:
    broken = Counter[str]()
    checked = 0
    for form in election.forms["kpps"]:
        if (form["tps"], "kpps") in planted:
            continue
        checked += 1
        broken.update(_rules(form, tps[form["tps"]]))
    assert checked > 40_000
    assert broken == Counter()


def test_each_sexs_voters_fit_its_dpt_and_the_other_lists(
    election: SyntheticElection, planted: set[tuple[str, str]]
) -> None:
    """A sex's voters are its DPT's voters plus some DPTb and DPK voters, as on paper."""
    checked = 0
    for form in election.forms["kpps"]:
        if (form["tps"], "kpps") in planted:
            continue
        f = form["fields"]
        others = f["pengguna_dptb"] + f["pengguna_dpk"]
        assert f["pengguna_hak_pilih_laki"] <= f["dpt_laki"] + others, form
        assert f["pengguna_hak_pilih_perempuan"] <= f["dpt_perempuan"] + others, form
        checked += 1
    assert checked > 40_000


def test_domestic_dpt_is_realistic(tps: dict[str, Tps]) -> None:
    domestic = [t for t in tps.values() if t.kind is TpsKind.DOMESTIC]
    dpt = [t.dpt for t in domestic]
    assert all(d is not None and 0 < d <= 300 for d in dpt)
    known = [d for d in dpt if d is not None]
    # 2019 DKI/DIY/Bali: median 266, a quarter below 235.
    assert 240 <= statistics.median(known) <= 285
    assert 0.05 < sum(d < 200 for d in known) / len(known) < 0.3
    assert any(t.number >= 901 for t in domestic), "special TPS are part of the tree"


def test_region_ids_fit_the_registry(election: SyntheticElection) -> None:
    for path, tps_list in election.desas:
        assert [len(r.id) for r in path] == [2, 4, 6, 10]
        assert all(r.id.isdigit() for r in path)
        for parent, child in itertools.pairwise(path):
            assert child.parent == parent.id
            assert child.id.startswith(parent.id)
        for t in tps_list:
            assert t.desa == path[-1].id
            assert t.id.startswith(t.desa)
            assert len(t.id) == (13 if t.number < 1000 else 14)
            assert int(t.id[10:]) == t.number


def test_overseas_posts_are_present(election: SyntheticElection, tps: dict[str, Tps]) -> None:
    overseas = [t for t in tps.values() if t.kind is TpsKind.OVERSEAS]
    assert len(overseas) == 400
    assert all(t.id.startswith("99") for t in overseas)
    names = {p[0].name for p, _ in election.desas if p[0].id == "99"}
    assert names == {"LUAR NEGERI"}
    assert sum(t.dpt is None for t in overseas) > 0.7 * len(overseas)
    numbers = [t.number for t in overseas]
    assert any(n < 1000 for n in numbers)
    assert any(1001 <= n < 2000 for n in numbers)
    assert any(n >= 2001 for n in numbers)
    kpps = _by_tps(election.forms["kpps"])
    big = [
        kpps[t.id]["fields"]["pengguna_hak_pilih"]
        for t in overseas
        if t.number > 1000 and t.id in kpps
    ]
    assert sum(v > 300 for v in big) > 0.1 * len(big)


def test_witness_and_crowd_copies_agree_unless_planted(
    election: SyntheticElection, planted: set[tuple[str, str]]
) -> None:
    kpps = _by_tps(election.forms["kpps"])
    n = sum(len(t) for _, t in election.desas)
    for source, coverage in (
        ("saksi-01", 0.6),
        ("saksi-02", 0.6),
        ("saksi-03", 0.6),
        ("kawal", 0.3),
    ):
        copies = election.forms[source]
        assert abs(len(copies) / n - coverage) < 0.02
        compared = differ = 0
        for copy in copies:
            official = kpps.get(copy["tps"])
            if official is None or (copy["tps"], "kpps") in planted:
                continue
            compared += 1
            same = copy["votes"] == official["votes"] and all(
                copy["fields"][f] == official["fields"][f] for f in WITNESS_FIELDS
            )
            if not same:
                differ += 1
                assert (copy["tps"], source) in planted
        assert differ / compared < 0.01


def test_each_anomaly_is_planted_as_asked(election: SyntheticElection, tps: dict[str, Tps]) -> None:
    kinds = Counter(e["kind"] for e in election.truth)
    assert kinds == {
        "extra_digit": 40,
        "swapped_fields": 20,
        "total_in_candidate": 20,
        "inflated_turnout": 20,
        "missing_forms": 15,
        "source_disagreements": 50,
        "fixed_share": 2,
    }
    kpps = _by_tps(election.forms["kpps"])
    per_tps_kpps = Counter(e["tps"] for e in election.truth if e.get("source") == "kpps")
    assert max(per_tps_kpps.values()) == 1, "one kpps anomaly per TPS"
    for entry in election.truth:
        kind = entry["kind"]
        if kind == "fixed_share":
            assert entry["share"] == 0.57
            continue
        if kind == "missing_forms":
            assert entry["source"] == "kpps"
            assert entry["tps"] not in kpps
            continue
        source = entry["source"]
        form = _by_tps(election.forms[source])[entry["tps"]]
        assert _value(form, entry["field"]) == entry["planted"]
        paper = paper_form(form, election.truth)
        if kind == "source_disagreements":
            assert source != "kpps"
            official = kpps[entry["tps"]]
            assert entry["official"] == _value(official, entry["field"]) != entry["planted"]
            assert paper["votes"] == official["votes"]
        else:
            assert source == "kpps"
            assert tps[entry["tps"]].kind is TpsKind.DOMESTIC
            assert entry["true"] != entry["planted"]
            # Undoing what truth records gives a form that breaks no rule again.
            assert _rules(paper, tps[entry["tps"]]) == []


def test_error_shapes(election: SyntheticElection, tps: dict[str, Tps]) -> None:
    kpps = _by_tps(election.forms["kpps"])
    near = 0
    for entry in election.truth:
        kind = entry["kind"]
        if entry.get("source") != "kpps" or kind == "missing_forms":
            continue
        form, where = kpps[entry["tps"]], tps[entry["tps"]]
        true, planted = str(entry["true"]), str(entry["planted"])
        if kind == "extra_digit":
            assert len(planted) == len(true) + 1
            assert any(planted[:i] + planted[i + 1 :] == true for i in range(len(planted)))
            assert _rules(form, where) != []
        elif kind == "total_in_candidate":
            assert entry["planted"] == form["fields"]["suara_sah"]
            assert "votes_sum_valid" in _rules(form, where)
        elif kind == "swapped_fields":
            assert _value(form, entry["swapped_with"]) == entry["true"]
        elif kind == "inflated_turnout":
            voters = form["fields"]["pengguna_hak_pilih"]
            assert voters == entry["planted"] >= 0.97 * where.dpt  # type: ignore[operator]
            assert sum(form["votes"].values()) == form["fields"]["suara_sah"]
            near += _rules(form, where) == []
    assert near >= 10, "half the stuffed TPS stay within every rule"


def test_half_the_planted_errors_stay_within_the_domestic_cap(
    election: SyntheticElection,
) -> None:
    forms = {s: _by_tps(f) for s, f in election.forms.items()}
    within: dict[str, list[bool]] = defaultdict(list)
    for entry in election.truth:
        if "planted" not in entry:
            continue
        form = forms[entry["source"]][entry["tps"]]
        values = [*form["votes"].values(), *form["fields"].values()]
        within[entry["kind"]].append(max(values) <= CAP)
    everything = [w for flags in within.values() for w in flags]
    assert sum(everything) >= len(everything) / 2
    assert sum(within["extra_digit"]) >= 20
    assert not all(within["extra_digit"]), "the classic 41 -> 431 shape is there too"
    assert set(within) == {*PER_FORM_KINDS, "source_disagreements"}


def _share_dispersion(forms: Iterable[dict[str, Any]], group: int) -> float:
    """Variance of pair 01's share across TPS within groups over the binomial variance."""
    groups: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for form in forms:
        valid = form["fields"]["suara_sah"]
        if valid:
            groups[form["tps"][:group]].append((form["votes"]["01"], valid))
    within: list[float] = []
    binomial: list[float] = []
    for members in groups.values():
        if len(members) < 2:
            continue
        share = np.array([v / n for v, n in members])
        size = np.array([n for _, n in members])
        mean = share.mean()
        within.extend((share - mean) ** 2 * len(members) / (len(members) - 1))
        binomial.extend(mean * (1 - mean) / size)
    return float(np.mean(within) / np.mean(binomial))


def test_fixed_share_regions_are_far_below_binomial_variation(
    election: SyntheticElection, planted: set[tuple[str, str]]
) -> None:
    clean = [f for f in election.forms["kpps"] if (f["tps"], "kpps") not in planted]
    for region in ("5101", "3174"):
        inside = [f for f in clean if f["tps"].startswith(region)]
        assert len(inside) > 500
        shares = [f["votes"]["01"] / f["fields"]["suara_sah"] for f in inside]
        assert abs(statistics.mean(shares) - 0.57) < 0.005
        assert _share_dispersion(inside, 4) < 0.05
    neighbour = [f for f in clean if f["tps"].startswith("5102")]
    assert _share_dispersion(neighbour, 4) > 5


def test_share_overdispersion_matches_2019(
    election: SyntheticElection, planted: set[tuple[str, str]]
) -> None:
    """Real 2019 DKI Jakarta: within-kecamatan variance 22.5 times binomial (docstring)."""
    dki = [
        f
        for f in election.forms["kpps"]
        if f["tps"].startswith("31")
        and not f["tps"].startswith("3174")
        and (f["tps"], "kpps") not in planted
    ]
    assert 12 < _share_dispersion(dki, 6) < 35


def test_write_truth_writes_sorted_json_lines(election: SyntheticElection, tmp_path: Path) -> None:
    path = tmp_path / "truth.jsonl"
    write_truth(list(reversed(election.truth)), path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == election.truth
    assert all(
        line == json.dumps(json.loads(line), sort_keys=True, separators=(",", ":"))
        for line in lines
    )


def test_impossible_requests_are_refused(bali_dir: Path) -> None:
    def bali(**kwargs: Any) -> SyntheticElection:
        return generate(bali_dir, seed=1, overseas_tps=0, **kwargs)

    with pytest.raises(SaksiError, match="sources"):
        bali(sources=("kpps", "bawaslu"))
    with pytest.raises(SaksiError, match="9999"):
        bali(anomalies=AnomalyPlan(fixed_share_regions=("9999",)))
    with pytest.raises(SaksiError, match="do not fit"):
        bali(anomalies=AnomalyPlan(missing_forms=10**6))
    with pytest.raises(SaksiError, match="kpps"):
        bali(sources=("kawal",), anomalies=AnomalyPlan(extra_digit=1))
    with pytest.raises(SaksiError, match="no TPS"):
        generate(bali_dir, seed=1, overseas_tps=0, limit_provinces=("31",))
