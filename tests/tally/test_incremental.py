"""The tally is incremental: one accepted form touches only the rows on its TPS's path.

Through an election on both backends: after a flush, one accepted form (or one
correction) writes and changes exactly the tally rows of its path, national down to desa,
which is as many rows as its TPS is deep in the tree, and no row of another region,
contest or source. A duplicate or a refused form touches none.

Directly, with hypothesis: ``TallyLayout`` and ``Tally`` keep every region's row equal to
the sum of its children's rows, adding then removing contributions restores zeros, and the
bulk path's ``contribution_matrix`` equals the per-form ``contribution``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saksi.election.election import Election, make_entry
from saksi.errors import RejectedEntry
from saksi.ingest.rules import RULE_IDS
from saksi.keys.ed25519 import SigningKey
from saksi.log.entry import EntryType
from saksi.manifest.load import parse_manifest
from saksi.registry.entries import DesaRecord
from saksi.registry.model import Level, Region, Tps, TpsKind
from saksi.store.base import Store, TallyRow
from saksi.tally.counters import Contribution, Tally, TallyLayout

MANIFEST = parse_manifest(
    {
        "election": {"id": "uji-tally", "name": "Uji tally", "origin": "saksi.local/uji-tally"},
        "contest": [
            {
                "id": "PPWP",
                "name": "Pemilihan Presiden",
                "kind": "pairs",
                "choices": [
                    {"id": "01", "name": "Pasangan 01"},
                    {"id": "02", "name": "Pasangan 02"},
                ],
            }
        ],
        "source": [
            {
                "id": "kpps",
                "name": "KPPS",
                "kind": "official",
                "fields": ["pengguna_hak_pilih", "suara_sah", "suara_tidak_sah"],
                "required": ["suara_sah"],
            },
            {
                "id": "saksi-01",
                "name": "Saksi 01",
                "kind": "party_witness",
                "fields": ["suara_sah"],
                "required": ["suara_sah"],
            },
        ],
    }
)
EID = MANIFEST.election_id

_JABAR = Region("32", "ID", Level.PROVINSI, "Jawa Barat")
_BOGOR = Region("3201", "32", Level.KABUPATEN_KOTA, "Kab. Bogor")
_CIBINONG = Region("320101", "3201", Level.KECAMATAN, "Cibinong")
_BALI = Region("51", "ID", Level.PROVINSI, "Bali")
_BADUNG = Region("5103", "51", Level.KABUPATEN_KOTA, "Kab. Badung")
_KUTA = Region("510301", "5103", Level.KECAMATAN, "Kuta")
DESAS: list[DesaRecord] = [
    (
        (_JABAR, _BOGOR, _CIBINONG, Region("3201012001", "320101", Level.DESA, "Pakansari")),
        [Tps(f"3201012001{n:03d}", "3201012001", n, 200 + n, TpsKind.DOMESTIC) for n in (1, 2, 3)],
    ),
    (
        (_JABAR, _BOGOR, _CIBINONG, Region("3201012002", "320101", Level.DESA, "Tengah")),
        [Tps("3201012002001", "3201012002", 1, 150, TpsKind.DOMESTIC)],
    ),
    (
        (_BALI, _BADUNG, _KUTA, Region("5103012001", "510301", Level.DESA, "Kedonganan")),
        [Tps(f"5103012001{n:03d}", "5103012001", n, None, TpsKind.DOMESTIC) for n in (1, 2)],
    ),
]
TPS = {t.id: t for _, tps_list in DESAS for t in tps_list}
PATH = {t.id: ("ID", *(r.id for r in path)) for path, tps_list in DESAS for t in tps_list}
DEPTH = 5  # national, provinsi, kabupaten/kota, kecamatan, desa

RowKey = tuple[str, str, str]  # contest, source, region


@dataclass
class Harness:
    election: Election
    submitter: dict[str, SigningKey]
    written: list[set[RowKey]]  # tally rows passed to each store write

    def tally_table(self) -> dict[RowKey, list[int]]:
        rows = self.election.store.query("SELECT contest, source, region, counts FROM tally")
        return {(str(c), str(s), str(r)): json.loads(counts) for c, s, r, counts in rows}

    def form(self, tps: str, source: str, sah: int, replaces: str | None = None) -> Any:
        payload: dict[str, Any] = {
            "tps": tps,
            "contest": "PPWP",
            "source": source,
            "votes": {"01": sah // 3, "02": sah - sah // 3},
            "fields": {"suara_sah": sah},
        }
        if replaces is not None:
            payload["replaces"] = replaces
        return make_entry(EntryType.RESULT_FORM, EID, payload, self.submitter[source])

    def submit(self, entry: Any) -> tuple[set[RowKey], set[RowKey], str, bool]:
        """Append one entry; returns rows written, rows changed, its hash, duplicate."""
        before = self.tally_table()
        self.written.clear()
        [receipt] = self.election.append([entry])
        assert receipt is not None
        assert not self.election.state.tally.dirty, "rows left unwritten after the flush"
        after = self.tally_table()
        changed = {k for k in after.keys() | before.keys() if after.get(k) != before.get(k)}
        written = set().union(*self.written) if self.written else set()
        return written, changed, receipt.payload_hash, receipt.duplicate


@pytest.fixture
def harness(
    tmp_path: Path, store_url: str | None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Harness]:
    election = Election.create(tmp_path / "election", MANIFEST, store=store_url)
    try:
        election.import_registry(DESAS)
        submitters = {}
        for source in ("kpps", "saksi-01"):
            key = SigningKey.generate()
            submitters[source] = key
            item = {"key": key.public_b64, "role": "submitter", "source": source, "tps": [*TPS]}
            manager = election.key("manager", source)
            election.append([make_entry(EntryType.KEYS_REGISTER, EID, {"keys": [item]}, manager)])
        harness = Harness(election, submitters, [])
        store: Store = election.store
        original = store.write

        def write(pending: Any, tally: list[TallyRow], *args: Any, **kwargs: Any) -> None:
            harness.written.append({(c, s, r) for c, s, r, _ in tally})
            original(pending, tally, *args, **kwargs)

        monkeypatch.setattr(store, "write", write)
        yield harness
    finally:
        election.close()


def path_rows(tps: str, source: str) -> set[RowKey]:
    return {("PPWP", source, region) for region in PATH[tps]}


def test_one_form_touches_exactly_its_path(harness: Harness) -> None:
    assert {t: harness.election.state.registry.paths[TPS[t].desa] for t in TPS} == PATH
    # The first form in a fresh region creates its rows; later ones update existing rows.
    for tps, source, sah in [
        ("3201012001001", "kpps", 120),
        ("3201012001002", "kpps", 130),
        ("3201012002001", "kpps", 90),
        ("5103012001001", "kpps", 75),
        ("3201012001001", "saksi-01", 121),
    ]:
        written, changed, _, duplicate = harness.submit(harness.form(tps, source, sah))
        assert not duplicate
        assert len(written) <= DEPTH
        assert written == path_rows(tps, source)
        assert changed == written


def test_correction_touches_the_same_rows(harness: Harness) -> None:
    tps = "3201012001003"
    harness.submit(harness.form("5103012001002", "kpps", 50))
    written, _, first, _ = harness.submit(harness.form(tps, "kpps", 100))
    assert written == path_rows(tps, "kpps")
    before = harness.tally_table()
    written, changed, _, duplicate = harness.submit(harness.form(tps, "kpps", 160, first))
    assert not duplicate
    assert written == changed == path_rows(tps, "kpps")
    after = harness.tally_table()
    layout = harness.election.state.tally.layout("PPWP", "kpps")
    valid = layout.field_index["suara_sah"]
    for key in written:  # the old version is taken out and the new one put in
        assert after[key][valid] - before[key][valid] == 60
        assert after[key][0] == before[key][0]  # still one TPS reporting from it


def test_duplicate_and_refused_forms_touch_nothing(harness: Harness) -> None:
    entry = harness.form("3201012002001", "saksi-01", 80)
    harness.submit(entry)
    written, changed, _, duplicate = harness.submit(entry)
    assert duplicate
    assert written == changed == set()
    before = harness.tally_table()
    with pytest.raises(RejectedEntry, match="already has a PPWP form"):
        harness.election.append([harness.form("3201012002001", "saksi-01", 81)])
    assert harness.tally_table() == before


def test_bulk_import_touches_each_row_once(harness: Harness) -> None:
    """Many forms of one desa in one import still write only that desa's path."""
    importer = harness.election.importer_key("kpps")
    forms = [
        {
            "tps": tps,
            "contest": "PPWP",
            "source": "kpps",
            "votes": {"01": 10, "02": 20},
            "fields": {"suara_sah": 30},
        }
        for tps in ("3201012001001", "3201012001002", "3201012001003")
    ]
    before = harness.tally_table()
    harness.written.clear()
    summary = harness.election.import_forms(forms, importer)
    assert summary.recorded == 3
    written = set().union(*harness.written)
    after = harness.tally_table()
    assert written == path_rows("3201012001001", "kpps")
    assert {k for k in after if after[k] != before.get(k)} == written
    assert all(after[k][0] == 3 for k in written)  # three TPS reporting on every level


# -- the counters themselves, with hypothesis ------------------------------------------------

CHOICES = ("01", "02", "03")
FIELDS = ("pengguna_hak_pilih", "suara_sah", "suara_tidak_sah")
LAYOUT = TallyLayout(CHOICES, FIELDS)


@dataclass(frozen=True)
class FormFigures:
    desa: int  # index into the tree's desa paths
    votes: dict[str, int]
    fields: dict[str, int]
    flags: tuple[str, ...]
    dpt: int | None

    def contribution(self) -> Contribution:
        return LAYOUT.contribution(self.votes, self.fields, self.flags, self.dpt)


counts = st.integers(0, 10_000)
desa_paths = st.lists(
    st.tuples(st.integers(0, 1), st.integers(0, 1), st.integers(0, 1), st.integers(0, 2)),
    min_size=1,
    max_size=8,
    unique=True,
).map(
    lambda codes: [
        (
            "ID",
            f"p{a}",
            f"p{a}k{b}",
            f"p{a}k{b}c{c}",
            f"p{a}k{b}c{c}d{d}",
        )
        for a, b, c, d in codes
    ]
)
form_figures = st.builds(
    FormFigures,
    desa=st.integers(0, 7),
    votes=st.fixed_dictionaries(dict.fromkeys(CHOICES, counts)),
    fields=st.fixed_dictionaries({}, optional=dict.fromkeys(FIELDS, counts)),
    flags=st.lists(st.sampled_from(RULE_IDS), unique=True).map(tuple),
    dpt=st.none() | st.integers(0, 300),
)


def dense(contribution: Contribution) -> list[int]:
    row = [0] * LAYOUT.width
    for index, value in contribution:
        row[index] += value
    return row


def children_sum_to_parents(tally: Tally, paths: list[tuple[str, ...]]) -> None:
    rows = tally.rows[("PPWP", "kpps")]
    tally.settle()
    parents = {child: parent for path in paths for parent, child in itertools.pairwise(path)}
    for region, row in rows.items():
        children = [rows[c] for c, p in parents.items() if p == region and c in rows]
        if children:
            assert row == [sum(column) for column in zip(*children, strict=True)], region
    desas = [rows[path[-1]] for path in paths if path[-1] in rows]
    if desas:
        assert rows["ID"] == [sum(column) for column in zip(*desas, strict=True)]


def new_tally() -> Tally:
    tally = Tally()
    tally.add_layout("PPWP", "kpps", LAYOUT)
    return tally


@settings(max_examples=200, deadline=None)
@given(paths=desa_paths, forms=st.lists(form_figures, max_size=20), data=st.data())
def test_adding_then_removing_restores_zeros(
    paths: list[tuple[str, ...]], forms: list[FormFigures], data: st.DataObject
) -> None:
    tally = new_tally()
    touched: set[str] = set()
    for form in forms:
        path = paths[form.desa % len(paths)]
        assert tally.apply("PPWP", "kpps", path, form.contribution(), 1) == len(path)
        touched.update(path)
        if data.draw(st.booleans(), "settle now"):
            tally.settle()  # a read or flush in between must not change the outcome
    assert {r for _, _, r in tally.dirty} == touched
    children_sum_to_parents(tally, paths)
    for form in data.draw(st.permutations(forms), "removal order"):
        tally.apply("PPWP", "kpps", paths[form.desa % len(paths)], form.contribution(), -1)
    assert {r for _, _, r, _ in tally.take_dirty()} == touched
    assert not tally.dirty
    assert all(row == [0] * LAYOUT.width for row in tally.rows[("PPWP", "kpps")].values())


@settings(max_examples=200, deadline=None)
@given(paths=desa_paths, forms=st.lists(form_figures, min_size=1, max_size=20), data=st.data())
def test_national_row_is_the_sum_of_desa_rows(
    paths: list[tuple[str, ...]], forms: list[FormFigures], data: st.DataObject
) -> None:
    """With corrections: a form replaced by another is subtracted, the new one added."""
    tally = new_tally()
    current: dict[int, FormFigures] = {}  # a TPS per form slot, each in one desa
    for slot, form in enumerate(forms):
        path = paths[form.desa % len(paths)]
        tally.apply("PPWP", "kpps", path, form.contribution(), 1)
        current[slot] = form
        if slot and data.draw(st.booleans(), "correct an earlier form"):
            old_slot = data.draw(st.integers(0, slot - 1), "corrected slot")
            old = current[old_slot]
            new = replace(data.draw(form_figures, "correction"), desa=old.desa)
            old_path = paths[old.desa % len(paths)]
            tally.apply("PPWP", "kpps", old_path, old.contribution(), -1)
            tally.apply("PPWP", "kpps", old_path, new.contribution(), 1)
            current[old_slot] = new
    children_sum_to_parents(tally, paths)
    national = tally.row("PPWP", "kpps", "ID")
    dense_rows = [dense(f.contribution()) for f in current.values()]
    assert national == [sum(column) for column in zip(*dense_rows, strict=True)]
    figures = LAYOUT.to_json(national or [0] * LAYOUT.width)
    assert figures["tps_reported"] == len(current)
    assert figures["choices"] == {c: sum(f.votes[c] for f in current.values()) for c in CHOICES}
    assert figures["valid"] == sum(f.fields.get("suara_sah", 0) for f in current.values())
    assert figures["missing"].get("suara_sah", 0) == sum(
        "suara_sah" not in f.fields for f in current.values()
    )


@settings(max_examples=100, deadline=None)
@given(forms=st.lists(form_figures, min_size=1, max_size=12))
def test_bulk_contribution_matrix_equals_per_form_contribution(forms: list[FormFigures]) -> None:
    votes = np.array([[f.votes[c] for c in CHOICES] for f in forms], dtype=np.int64)
    fields = {
        name: (
            np.array([f.fields.get(name, 0) for f in forms], dtype=np.int64),
            np.array([name in f.fields for f in forms], dtype=bool),
        )
        for name in FIELDS
    }
    flags = np.array([[r in f.flags for r in RULE_IDS] for f in forms], dtype=bool)
    dpt = (
        np.array([f.dpt or 0 for f in forms], dtype=np.int64),
        np.array([f.dpt is not None for f in forms], dtype=bool),
    )
    matrix = LAYOUT.contribution_matrix(votes, fields, flags, dpt)
    assert matrix.tolist() == [dense(f.contribution()) for f in forms]
