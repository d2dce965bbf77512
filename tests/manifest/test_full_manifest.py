"""The five-ballot example manifest: PPWP pairs, DPR and DPRD party lists by dapil, DPD.

Loads examples/manifest-pemilu2024-lengkap.toml, checks its shape, its record entries,
and, end to end, that a DPR form is counted per choice on its own dapil's ballot only.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from saksi.canonical import canonical_bytes
from saksi.election.election import Election, make_entry
from saksi.errors import RejectedEntry
from saksi.keys.ed25519 import SigningKey
from saksi.log.entry import MAX_ENTRY_BYTES, Auth, EntryType, encode_entry
from saksi.manifest.entries import ManifestBuilder, manifest_payloads
from saksi.manifest.load import load_manifest
from saksi.manifest.model import Choice, ContestKind, Manifest
from saksi.registry.kpu2024 import read_kpu2024
from saksi.tally.query import tally_report

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "manifest-pemilu2024-lengkap.toml"
KPU2024 = REPO.parent / "shared" / "data" / "pemilu2024"

GAMBIR = "317101"  # kecamatan Gambir, Kota Jakarta Pusat: DPR dapil DKI Jakarta II
TPS = "3171011001001"  # kelurahan Gambir, TPS 001
TPS_DPT = 250


@pytest.fixture(scope="module")
def manifest() -> Manifest:
    return load_manifest(EXAMPLE)


def _parties(choices: tuple[Choice, ...]) -> list[Choice]:
    return [c for c in choices if c.party is None]


def _candidates(choices: tuple[Choice, ...]) -> list[Choice]:
    return [c for c in choices if c.party is not None]


def _kpu_regions() -> dict[str, str]:
    """KPU 2024 code -> level, from the shared region tree."""
    if not (KPU2024 / "regions.csv").exists():
        pytest.skip(f"the KPU 2024 region tree is not at {KPU2024}")
    with (KPU2024 / "regions.csv").open(newline="", encoding="utf-8") as handle:
        return {row["code"]: row["level"] for row in csv.DictReader(handle)}


# -- the manifest's shape ----------------------------------------------------------------


def test_five_contests_of_three_kinds(manifest: Manifest) -> None:
    assert manifest.election_id == "pemilu2024-lengkap"
    assert [(c.id, c.kind) for c in manifest.contests] == [
        ("PPWP", ContestKind.PAIRS),
        ("DPR", ContestKind.PARTY_LIST),
        ("DPRD_PROVINSI", ContestKind.PARTY_LIST),
        ("DPRD_KABKOTA", ContestKind.PARTY_LIST),
        ("DPD", ContestKind.CANDIDATES),
    ]
    assert manifest.source_by_id["kpps"].kind.value == "official"


def test_ppwp_has_three_pairs_and_no_dapil(manifest: Manifest) -> None:
    ppwp = manifest.contest_by_id["PPWP"]
    assert [c.id for c in ppwp.choices] == ["01", "02", "03"]
    assert ppwp.dapils == ()
    assert all(c.party is None for c in ppwp.choices)


@pytest.mark.parametrize("contest_id", ["DPR", "DPRD_PROVINSI", "DPRD_KABKOTA"])
def test_party_list_dapils_carry_parties_and_their_candidates(
    manifest: Manifest, contest_id: str
) -> None:
    contest = manifest.contest_by_id[contest_id]
    assert contest.choices == ()
    assert len(contest.dapils) >= 3
    for dapil in contest.dapils:
        parties = _parties(dapil.choices)
        candidates = _candidates(dapil.choices)
        assert len(parties) >= 4, dapil.id
        assert candidates, dapil.id
        party_ids = {p.id for p in parties}
        assert {c.party for c in candidates} == party_ids, dapil.id
        for party in parties:
            assert any(c.party == party.id for c in candidates), (dapil.id, party.id)
        assert all(c.name.startswith("Calon ") for c in candidates)
    # A candidate is one tally column, so its id is unique across the contest's dapils.
    candidate_ids = [c.id for d in contest.dapils for c in _candidates(d.choices)]
    assert len(candidate_ids) == len(set(candidate_ids))
    # The same party keeps its ballot number and name in every dapil.
    names = {(p.id, p.name) for d in contest.dapils for p in _parties(d.choices)}
    assert len(names) == len({p for p, _ in names})


def test_dpr_dapils_of_dki_jakarta_are_by_kota(manifest: Manifest) -> None:
    dapils = {d.id: d.regions for d in manifest.contest_by_id["DPR"].dapils}
    assert dapils["DKI1"] == ("3175",)
    assert dapils["DKI2"] == ("3171", "3174")
    assert dapils["DKI3"] == ("3172", "3173", "3101")


def test_dpd_has_one_dapil_per_province_with_individual_candidates(manifest: Manifest) -> None:
    dpd = manifest.contest_by_id["DPD"]
    assert [d.regions for d in dpd.dapils] == [("31",), ("34",)]
    for dapil in dpd.dapils:
        assert len(dapil.choices) >= 2
        assert all(c.party is None for c in dapil.choices)


def test_dapil_regions_are_kpu_codes_of_the_expected_level(manifest: Manifest) -> None:
    levels = _kpu_regions()
    expected = {
        "DPR": {"provinsi", "kabupaten_kota"},
        "DPRD_PROVINSI": {"kabupaten_kota"},
        "DPRD_KABKOTA": {"kecamatan"},
        "DPD": {"provinsi"},
    }
    for contest_id, allowed in expected.items():
        for dapil in manifest.contest_by_id[contest_id].dapils:
            for region in dapil.regions:
                assert levels.get(region) in allowed, (contest_id, dapil.id, region)


@pytest.mark.parametrize("contest_id", ["DPR", "DPRD_PROVINSI", "DPRD_KABKOTA", "DPD"])
def test_dapils_of_one_contest_never_overlap(manifest: Manifest, contest_id: str) -> None:
    # KPU codes nest by prefix, so two dapils overlap when one region prefixes another.
    owned = [(r, d.id) for d in manifest.contest_by_id[contest_id].dapils for r in d.regions]
    for region, dapil in owned:
        for other, other_dapil in owned:
            if (region, dapil) != (other, other_dapil):
                assert not other.startswith(region), (region, dapil, other, other_dapil)


# -- as record entries -------------------------------------------------------------------


def test_entries_rebuild_an_equal_manifest(manifest: Manifest) -> None:
    payloads = manifest_payloads(manifest)
    parts = [p["part"] for p in payloads]
    assert parts.count("election") == 1
    assert parts.count("contest") == len(manifest.contests)
    assert parts.count("dapil") == sum(len(c.dapils) for c in manifest.contests)
    builder = ManifestBuilder()
    for payload in payloads:
        assert not builder.complete()
        builder.add(payload)
    assert builder.complete()
    assert builder.build() == manifest


def test_every_entry_is_well_under_the_size_limit(manifest: Manifest) -> None:
    auth = Auth(key="A" * 43 + "=", signature="A" * 86 + "==")
    for payload in manifest_payloads(manifest):
        body = canonical_bytes(payload)
        entry = encode_entry(EntryType.MANIFEST, manifest.election_id, body, auth)
        assert len(entry) < MAX_ENTRY_BYTES // 8, (payload["part"], payload["id"], len(entry))


# -- end to end: a DPR form on its dapil's ballot ----------------------------------------


def _one_kecamatan(directory: Path, kecamatan: str) -> Path:
    """Copy the KPU 2024 CSVs, restricted to one kecamatan and its ancestors."""
    ancestors = {kecamatan[:2], kecamatan[:4], kecamatan}
    out = directory / "kpu2024"
    out.mkdir()
    for name, code_column in (("regions.csv", "code"), ("tps_per_desa.csv", "desa_code")):
        if not (KPU2024 / name).exists():
            pytest.skip(f"the KPU 2024 data is not at {KPU2024}")
        with (KPU2024 / name).open(newline="", encoding="utf-8") as source:
            reader = csv.DictReader(source)
            rows = [
                row
                for row in reader
                if row[code_column] in ancestors or row[code_column].startswith(kecamatan)
            ]
            header = reader.fieldnames
        assert header is not None
        with (out / name).open("w", newline="", encoding="utf-8") as target:
            writer = csv.DictWriter(target, fieldnames=header)
            writer.writeheader()
            writer.writerows(rows)
    return out


@pytest.fixture
def election(tmp_path: Path, manifest: Manifest, store_url: str | None) -> Iterator[Election]:
    opened = Election.create(tmp_path / "election", manifest, store=store_url)
    try:
        kpu = _one_kecamatan(tmp_path, GAMBIR)
        added = opened.import_registry(read_kpu2024(kpu, {TPS: TPS_DPT}))
        assert added > 100  # Gambir has six kelurahan with a few hundred TPS
        yield opened
    finally:
        opened.close()


def _enrol_submitter(election: Election, tps: str) -> SigningKey:
    submitter = SigningKey.generate()
    payload = {
        "keys": [{"key": submitter.public_b64, "role": "submitter", "source": "kpps", "tps": [tps]}]
    }
    manager = election.key("manager", "kpps")
    election.append([make_entry(EntryType.KEYS_REGISTER, election.election_id, payload, manager)])
    return submitter


def _dpr_votes(manifest: Manifest, dapil_id: str) -> dict[str, int]:
    """Votes for every choice on a DPR dapil's ballot: parties 10, 20, ...; candidates 1, 2, ..."""
    dapil = next(d for d in manifest.contest_by_id["DPR"].dapils if d.id == dapil_id)
    votes: dict[str, int] = {}
    for number, party in enumerate(_parties(dapil.choices), start=1):
        votes[party.id] = 10 * number
    for number, candidate in enumerate(_candidates(dapil.choices), start=1):
        votes[candidate.id] = number
    return votes


def _form(contest: str, votes: dict[str, int]) -> dict[str, Any]:
    valid = sum(votes.values())
    return {
        "tps": TPS,
        "contest": contest,
        "source": "kpps",
        "votes": votes,
        "fields": {
            "dpt": TPS_DPT,
            "pengguna_hak_pilih": valid + 5,
            "suara_sah": valid,
            "suara_tidak_sah": 5,
            "suara_total": valid + 5,
        },
    }


def test_dpr_form_is_counted_per_choice_of_its_dapil(election: Election) -> None:
    manifest = election.manifest
    submitter = _enrol_submitter(election, TPS)
    votes = _dpr_votes(manifest, "DKI2")
    form = _form("DPR", votes)
    entry = make_entry(EntryType.RESULT_FORM, election.election_id, form, submitter)
    [receipt] = election.append([entry])
    assert receipt is not None
    assert not receipt.duplicate
    assert receipt.payload_hash == entry.payload_hash.hex()

    for region in (None, "31", "3171", GAMBIR, "3171011001"):
        report = tally_report(election.store, region=region, contest="DPR", source="kpps")
        assert report["log_size"] == len(election.record)
        # The DPR columns span every dapil's ballot; only DKI Jakarta II's hold votes.
        all_ids = {c.id for c in manifest.contest_by_id["DPR"].all_choices()}
        assert set(report["choices"]) == all_ids
        assert {k: v for k, v in report["choices"].items() if v} == votes
        assert report["valid"] == sum(votes.values())
        assert report["invalid"] == 5
        assert report["voters"] == sum(votes.values()) + 5
        assert report["tps_reported"] == 1
        assert report["flagged_tps"] == {}

    # A DPD form on the same TPS goes to the DKI Jakarta DPD ballot.
    dpd_votes = {c.id: 7 for c in manifest.contest_by_id["DPD"].dapils[0].choices}
    dpd = make_entry(
        EntryType.RESULT_FORM, election.election_id, _form("DPD", dpd_votes), submitter
    )
    election.append([dpd])
    report = tally_report(election.store, region="3171", contest="DPD", source="kpps")
    assert {k: v for k, v in report["choices"].items() if v} == dpd_votes


def test_a_choice_of_another_dapil_is_refused(election: Election) -> None:
    submitter = _enrol_submitter(election, TPS)
    votes = _dpr_votes(election.manifest, "DKI2")
    votes["DKI1.3.1"] = 4  # a PDI-P candidate of DKI Jakarta I, not on this TPS's ballot
    size = len(election.record)
    entry = make_entry(EntryType.RESULT_FORM, election.election_id, _form("DPR", votes), submitter)
    with pytest.raises(RejectedEntry, match="not on the DPR ballot"):
        election.append([entry])
    assert len(election.record) == size
    report = tally_report(election.store, region=None, contest="DPR", source="kpps")
    assert report["tps_reported"] == 0


def test_a_tps_in_no_dapil_of_the_contest_is_refused(election: Election) -> None:
    submitter = _enrol_submitter(election, TPS)
    dapil = election.manifest.contest_by_id["DPRD_KABKOTA"].dapils[0]
    votes = {c.id: 1 for c in dapil.choices}
    size = len(election.record)
    entry = make_entry(
        EntryType.RESULT_FORM, election.election_id, _form("DPRD_KABKOTA", votes), submitter
    )
    # DKI Jakarta has no DPRD kabupaten/kota: its TPS are on no dapil of that contest.
    with pytest.raises(RejectedEntry, match="is not registered for contest DPRD_KABKOTA"):
        election.append([entry])
    assert len(election.record) == size


def test_tps_total_counts_only_the_tps_a_contest_covers(election: Election) -> None:
    with (KPU2024 / "tps_per_desa.csv").open(newline="", encoding="utf-8") as handle:
        gambir = [r for r in csv.DictReader(handle) if r["desa_code"].startswith(GAMBIR)]
    expected = sum(
        int(r["tps_count"])
        + (int(r["special_last"]) - int(r["special_first"]) + 1 if r["special_first"] else 0)
        for r in gambir
    )
    assert expected > 0
    for contest in ("PPWP", "DPR", "DPD"):  # Gambir is in DKI2 and in DPD dapil 31
        report = tally_report(election.store, region=None, contest=contest, source="kpps")
        assert report["tps_total"] == expected, contest
    # DPRD_KABKOTA here covers Kota Yogyakarta only: no TPS of this registry.
    other = tally_report(election.store, region=None, contest="DPRD_KABKOTA", source="kpps")
    assert other["tps_total"] == 0
    assert other["dpt_total"] == 0
