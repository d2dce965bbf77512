"""`saksi export`: the exact open-data files for a small election, on both backends.

The election is built through the CLI from rows written here, and every expected cell is
computed here from those rows: sums by plain arithmetic over the TPS of each region,
region ids by the path scheme of docs/registry.md, flags by the rules of docs/rules.md,
and each form's payload hash from its entry in the record by docs/record-format.md.
"""

from __future__ import annotations

import csv
import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO, drop_schema
from saksi.ingest.rules import RULE_IDS
from support import run_saksi, tally_json

MANIFEST = REPO / "src" / "saksi" / "examples" / "pemilu2019.toml"
FIELDS = ("pengguna_hak_pilih", "suara_sah", "suara_tidak_sah")  # the sources' form fields
TPS_HEADER = "tps_id,provinsi,kabupaten_kota,kecamatan,desa_kelurahan,desa_id,tps_no,dpt"
RESULTS_HEADER = "tps_id,paslon_01,paslon_02,suara_sah,suara_tidak_sah,pengguna_hak_pilih"


@dataclass(frozen=True)
class Station:
    tps_id: str
    names: tuple[str, str, str, str]  # provinsi, kabupaten/kota, kecamatan, desa
    desa_id: str
    number: int
    dpt: int | None

    @property
    def domestic(self) -> bool:
        return self.names[0] != "Luar Negeri"

    def csv_row(self) -> str:
        dpt = "" if self.dpt is None else str(self.dpt)
        return ",".join([self.tps_id, *self.names, self.desa_id, str(self.number), dpt])


ABROAD = ("Luar Negeri", "Uni Emirat Arab", "Abu Dhabi", "Abu Dhabi")
KAMPUNG_BALI = ("DKI JAKARTA", "JAKARTA PUSAT", "TANAH ABANG", "KAMPUNG BALI")
BENHIL = ("DKI JAKARTA", "JAKARTA PUSAT", "TANAH ABANG", "BENDUNGAN HILIR")
JANGKARAN = ("DAERAH ISTIMEWA YOGYAKARTA", "KULON PROGO", "TEMON", "JANGKARAN")
STATIONS = (
    Station("-990014-001", ABROAD, "-990014", 1, None),
    Station("-990014-1001", ABROAD, "-990014", 1001, None),
    Station("25880-001", KAMPUNG_BALI, "25880", 1, 240),
    Station("25880-002", KAMPUNG_BALI, "25880", 2, 210),
    Station("25881-001", BENHIL, "25881", 1, 280),
    Station("41866-001", JANGKARAN, "41866", 1, 288),
)
BY_ID = {s.tps_id: s for s in STATIONS}

# (tps, votes 01, votes 02, suara_sah, suara_tidak_sah, pengguna_hak_pilih); None = empty
Row = tuple[str, int, int, int, int, int | None]
RESULTS: dict[str, tuple[Row, ...]] = {
    "kawalpemilu": (
        ("-990014-001", 115, 154, 269, 3, 272),  # clean
        ("-990014-1001", 1200, 800, 2000, 10, None),  # postal abroad: large, no voters
        ("25880-001", 100, 90, 190, 5, 195),  # clean
        ("25880-002", 431, 150, 191, 5, 196),  # 41 typed as 431
        ("41866-001", 150, 100, 250, 10, 300),  # voters over the DPT's reserve
    ),
    "situng": (
        ("25880-002", 41, 150, 191, 5, 196),
        ("25881-001", 120, 100, 220, 2, 222),
    ),
}


# -- the independent expectations ---------------------------------------------------------


def reserve_cap(dpt: int) -> int:
    """docs/rules.md: d + ceil(2d / 100)."""
    return dpt + -(-2 * dpt // 100)


def expected_flags(row: Row) -> list[str]:
    """The rules of docs/rules.md that these fields can break, in the order of RULE_IDS."""
    tps, first, second, valid, invalid, voters = row
    station = BY_ID[tps]
    broken = set()
    if first + second != valid:
        broken.add("votes_sum_valid")
    if voters is not None and valid + invalid != voters:
        broken.add("valid_invalid_voters")
    if station.domestic:
        if station.dpt is not None and voters is not None and voters > reserve_cap(station.dpt):
            broken.add("voters_exceed_dpt_reserve")
        counts = [first, second, valid, invalid] + ([voters] if voters is not None else [])
        if max(counts) > reserve_cap(300):
            broken.add("count_exceeds_tps_cap")
    assert broken <= set(RULE_IDS)
    return [rule for rule in RULE_IDS if rule in broken]


def path_region_id(names: tuple[str, ...]) -> str:
    """docs/registry.md: "r" + the first 16 hex digits of SHA-256 of the names joined by /."""
    return "r" + hashlib.sha256("/".join(names).encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Region:
    id: str
    parent: str | None
    level: str
    name: str


def region_path(station: Station) -> list[Region]:
    """The regions a TPS counts in, from the national root down to its desa."""
    ids = [path_region_id(station.names[: i + 1]) for i in range(3)] + [station.desa_id]
    levels = ("provinsi", "kabupaten_kota", "kecamatan", "desa_kelurahan")
    parents = ["ID", *ids[:3]]
    return [Region("ID", None, "nasional", "Indonesia")] + [
        Region(ids[i], parents[i], levels[i], station.names[i]) for i in range(4)
    ]


@dataclass
class Totals:
    region: Region
    choices: dict[str, int]
    fields: dict[str, int]
    missing: dict[str, int]
    dpt: int = 0
    tps_reported: int = 0
    tps_total: int = 0
    flags: dict[str, int] | None = None


def expected_regions(source: str) -> list[Totals]:
    totals: dict[str, Totals] = {}

    def at(region: Region) -> Totals:
        if region.id not in totals:
            totals[region.id] = Totals(
                region, {"01": 0, "02": 0}, dict.fromkeys(FIELDS, 0), {}, flags={}
            )
        return totals[region.id]

    for station in STATIONS:
        for region in region_path(station):
            at(region).tps_total += 1
    for row in RESULTS[source]:
        tps, first, second, valid, invalid, voters = row
        station = BY_ID[tps]
        values = dict(zip(FIELDS, (voters, valid, invalid), strict=True))
        for region in region_path(station):
            t = at(region)
            t.tps_reported += 1
            t.choices["01"] += first
            t.choices["02"] += second
            for name, value in values.items():
                if value is None:
                    t.missing[name] = t.missing.get(name, 0) + 1
                else:
                    t.fields[name] += value
            if station.dpt is None:
                t.missing["dpt"] = t.missing.get("dpt", 0) + 1
            else:
                t.dpt += station.dpt
            assert t.flags is not None
            for rule in expected_flags(row):
                t.flags[rule] = t.flags.get(rule, 0) + 1
    reported = [t for t in totals.values() if t.tps_reported]
    return sorted(reported, key=lambda t: t.region.id)


# -- building and exporting ----------------------------------------------------------------


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def exported(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, Path]]:
    """An election with two sources imported, exported to OUT; yields (election, OUT).

    Built once per backend: the tests only read it.
    """
    schema: str | None = None
    store: list[str] = []
    if request.param == "postgres":
        schema = f"test_{uuid.uuid4().hex[:12]}"
        store = ["--store", f"{request.getfixturevalue('postgres_url')}?saksi_schema={schema}"]
    try:
        yield build_and_export(tmp_path_factory.mktemp("export"), store)
    finally:
        if schema is not None:
            drop_schema(schema)


def build_and_export(tmp_path: Path, store: list[str]) -> tuple[Path, Path]:
    election = tmp_path / "election"
    run_saksi("init", election, "--manifest", MANIFEST, *store)
    tps_csv = tmp_path / "tps.csv"
    tps_csv.write_text(
        "\n".join([TPS_HEADER, *(s.csv_row() for s in STATIONS)]) + "\n", encoding="utf-8"
    )
    run_saksi("registry", "import", election, "--pemilu2019", tps_csv)
    for source, rows in RESULTS.items():
        lines = [",".join("" if v is None else str(v) for v in row) for row in rows]
        results = tmp_path / f"results-{source}.csv"
        results.write_text("\n".join([RESULTS_HEADER, *lines]) + "\n", encoding="utf-8")
        run_saksi("results", "import", election, results, "--source", source)
    out = tmp_path / "out"
    run_saksi("export", election, out)
    return election, out


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def record_entries(election: Path) -> list[bytes]:
    """The record's entries, by its framing: a big-endian uint16 length, then the entry."""
    data = (election / "record" / "entries").read_bytes()
    entries, position = [], 0
    while position < len(data):
        length = int.from_bytes(data[position : position + 2], "big")
        entries.append(data[position + 2 : position + 2 + length])
        position += 2 + length
    return entries


def payload_hash_of(entry: bytes) -> tuple[str, dict[str, Any]]:
    """docs/record-format.md section 3: SHA-256 of the domain, type, election and payload.

    The payload's canonical bytes are re-made here with json (ASCII keys, integers only),
    which RFC 8785 agrees with for such values.
    """
    envelope = json.loads(entry)
    payload = envelope["payload"]
    body = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert body.encode() in entry, "the payload is not in canonical form"
    signing_input = b"saksi-entry-v1\n" + "\n".join(
        [envelope["type"], envelope["election"], body]
    ).encode("utf-8")
    return hashlib.sha256(signing_input).hexdigest(), envelope


# -- the tests -------------------------------------------------------------------------------


def test_export_writes_three_files_per_source(exported: tuple[Path, Path]) -> None:
    _, out = exported
    names = sorted(p.name for p in out.iterdir())
    expected = sorted(
        f"PPWP-{source}-{kind}"
        for source in ("kpps", "kawalpemilu", "situng")
        for kind in ("tps.csv", "regions.csv", "regions.json")
    )
    assert names == expected


@pytest.mark.parametrize("source", sorted(RESULTS))
def test_per_tps_csv_is_exact(exported: tuple[Path, Path], source: str) -> None:
    election, out = exported
    rows = read_csv(out / f"PPWP-{source}-tps.csv")
    assert rows[0] == [
        "tps_id",
        "choice_01",
        "choice_02",
        "pengguna_hak_pilih",
        "suara_sah",
        "suara_tidak_sah",
        "flags",
        "payload_hash",
        "leaf_index",
    ]
    body = rows[1:]
    assert [r[0] for r in body] == sorted(row[0] for row in RESULTS[source])
    by_tps = {row[0]: row for row in RESULTS[source]}
    entries = record_entries(election)
    for cells in body:
        tps, first, second, valid, invalid, voters = by_tps[cells[0]]
        assert cells[1:7] == [
            str(first),
            str(second),
            "" if voters is None else str(voters),  # absent is an empty cell, never 0
            str(valid),
            str(invalid),
            ",".join(expected_flags(by_tps[cells[0]])),
        ]
        # The last two columns point at the form's own entry in the record.
        digest, envelope = payload_hash_of(entries[int(cells[8])])
        assert cells[7] == digest
        assert envelope["type"] == "result_form"
        assert envelope["payload"]["tps"] == tps
        assert envelope["payload"]["source"] == source
        assert envelope["payload"]["votes"] == {"01": first, "02": second}


def test_a_source_without_forms_exports_headers_only(exported: tuple[Path, Path]) -> None:
    _, out = exported
    assert len(read_csv(out / "PPWP-kpps-tps.csv")) == 1
    assert len(read_csv(out / "PPWP-kpps-regions.csv")) == 1
    document = json.loads((out / "PPWP-kpps-regions.json").read_text(encoding="utf-8"))
    assert document["regions"] == []
    assert document["source"] == "kpps"


@pytest.mark.parametrize("source", sorted(RESULTS))
def test_per_region_csv_is_exact(exported: tuple[Path, Path], source: str) -> None:
    _, out = exported
    rows = read_csv(out / f"PPWP-{source}-regions.csv")
    assert rows[0] == [
        "region_id",
        "parent",
        "level",
        "name",
        "choice_01",
        "choice_02",
        "pengguna_hak_pilih",
        "suara_sah",
        "suara_tidak_sah",
        "dpt",
        "tps_reported",
        "tps_total",
        *(f"flag_{rule}" for rule in RULE_IDS),
    ]
    expected = [
        [
            t.region.id,
            t.region.parent or "",
            t.region.level,
            t.region.name,
            str(t.choices["01"]),
            str(t.choices["02"]),
            *(str(t.fields[f]) for f in FIELDS),
            str(t.dpt),
            str(t.tps_reported),
            str(t.tps_total),
            *(str((t.flags or {}).get(rule, 0)) for rule in RULE_IDS),
        ]
        for t in expected_regions(source)
    ]
    assert rows[1:] == expected


@pytest.mark.parametrize("source", sorted(RESULTS))
def test_per_region_json_matches_the_inputs_and_the_tally(
    exported: tuple[Path, Path], source: str
) -> None:
    election, out = exported
    document = json.loads((out / f"PPWP-{source}-regions.json").read_text(encoding="utf-8"))
    assert document["contest"] == "PPWP"
    assert document["source"] == source
    assert document["log_size"] == len(record_entries(election))

    expected = expected_regions(source)
    regions = document["regions"]
    assert [r["id"] for r in regions] == [t.region.id for t in expected]
    for record, t in zip(regions, expected, strict=True):
        assert record["parent"] == t.region.parent
        assert record["level"] == t.region.level
        assert record["name"] == t.region.name
        assert record["choices"] == t.choices
        assert record["voters"] == t.fields["pengguna_hak_pilih"]
        assert record["valid"] == t.fields["suara_sah"]
        assert record["invalid"] == t.fields["suara_tidak_sah"]
        assert record["dpt"] == t.dpt
        assert record["tps_reported"] == t.tps_reported
        assert record["tps_total"] == t.tps_total
        assert record["flagged_tps"] == t.flags
        assert record["missing"] == t.missing

    # The file holds the same figures as `saksi tally --json` for every region in it.
    for record in (regions[0], regions[-1]):
        report = tally_json(election, "--source", source, f"--region={record['id']}")
        for key, value in report.items():
            if key not in {"region", "contest", "source", "log_size"}:
                assert record[key] == value, key
