"""Done when: the 2019 example, rebuilt, on both backends.

The election is built once per backend from ../shared/data/pemilu2019 with
`saksi example pemilu2019`, its projection database is deleted (the SQLite file, or the
PostgreSQL schema), and `saksi rebuild` replays the record. Every expectation below is
computed here with the `csv` module from the same files, never taken from Saksi's output.
"""

from __future__ import annotations

import csv
import json
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conftest import DATA, drop_schema
from support import run_saksi

DATA_DIR = DATA / "pemilu2019"
SOURCES = ("kawalpemilu", "situng")
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]

# Reference figures from the issue, to catch a change in the data files themselves.
REFERENCE_ROWS = {"kawalpemilu": 56_191, "situng": 56_364}
REFERENCE_VOTES_SUM_VALID = {"kawalpemilu": 614, "situng": 960}
REFERENCE_TPS_TOTAL = 56_364

CONTRACT_KEYS = {
    "region",
    "contest",
    "source",
    "log_size",
    "choices",
    "valid",
    "invalid",
    "voters",
    "dpt",
    "tps_reported",
    "tps_total",
    "flagged_tps",
    "missing",
}


# -- the independent expectations ------------------------------------------------------


@dataclass(frozen=True)
class Station:
    provinsi: str
    dpt: int | None


@dataclass
class Sums:
    """Column sums of a results CSV over some TPS, computed with plain arithmetic."""

    rows: int = 0
    choices: dict[str, int] = field(default_factory=lambda: {"01": 0, "02": 0})
    valid: int = 0
    invalid: int = 0
    voters: int = 0
    voters_missing: int = 0
    votes_sum_valid: int = 0
    valid_invalid_voters: int = 0
    dpt: int = 0
    dpt_missing: int = 0


def read_stations() -> dict[str, Station]:
    with (DATA_DIR / "tps.csv").open(newline="", encoding="utf-8") as handle:
        return {
            row["tps_id"]: Station(row["provinsi"], int(row["dpt"]) if row["dpt"] else None)
            for row in csv.DictReader(handle)
        }


def cell(row: dict[str, str], column: str) -> int | None:
    text = row[column].strip()
    return int(text) if text else None


def column_sums(source: str, stations: dict[str, Station], provinsi: str | None) -> Sums:
    sums = Sums()
    with (DATA_DIR / f"results-{source}.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            station = stations[row["tps_id"]]
            if provinsi is not None and station.provinsi != provinsi:
                continue
            sums.rows += 1
            first, second = cell(row, "paslon_01"), cell(row, "paslon_02")
            valid, invalid = cell(row, "suara_sah"), cell(row, "suara_tidak_sah")
            voters = cell(row, "pengguna_hak_pilih")
            # Both files carry every pair's votes; pengguna_hak_pilih may be empty.
            assert first is not None
            assert second is not None
            sums.choices["01"] += first
            sums.choices["02"] += second
            sums.valid += valid or 0
            sums.invalid += invalid or 0
            if voters is None:
                sums.voters_missing += 1
            else:
                sums.voters += voters
            if valid is not None and first + second != valid:
                sums.votes_sum_valid += 1
            if (
                valid is not None
                and invalid is not None
                and voters is not None
                and valid + invalid != voters
            ):
                sums.valid_invalid_voters += 1
            if station.dpt is None:
                sums.dpt_missing += 1
            else:
                sums.dpt += station.dpt
    return sums


@pytest.fixture(scope="module")
def stations() -> dict[str, Station]:
    return read_stations()


# -- the election, built, deleted and rebuilt once per backend ---------------------------


def dump(election_dir: Path) -> list[str]:
    return run_saksi("dump", election_dir).stdout.splitlines()


def record_entries(election_dir: Path) -> int:
    """Count entries in the record file by its own framing: a big-endian uint16 length."""
    data = (election_dir / "record" / "entries").read_bytes()
    position = count = 0
    while position < len(data):
        length = int.from_bytes(data[position : position + 2], "big")
        assert length > 0
        position += 2 + length
        count += 1
    assert position == len(data), "the record ends in a torn entry"
    return count


@dataclass
class Rebuilt:
    election_dir: Path
    dump_before: list[str]
    dump_after: list[str]
    tally_without_projection: subprocess.CompletedProcess[str]
    reports: dict[tuple[str | None, str], dict[str, Any]] = field(default_factory=dict)

    def tally(self, source: str, region: str | None = None) -> dict[str, Any]:
        key = (region, source)
        if key not in self.reports:
            region_args = ["--region", region] if region is not None else []
            out = run_saksi(
                "tally", self.election_dir, "--source", source, *region_args, "--json"
            ).stdout
            self.reports[key] = json.loads(out)
        return self.reports[key]

    def region_id(self, name: str) -> str:
        lines = [line for line in self.dump_after if line.startswith("regions\t")]
        rows = [json.loads(line.split("\t", 1)[1]) for line in lines]
        ids = [row[0] for row in rows if row[3] == name]
        assert len(ids) == 1, f"expected one region named {name}, found {ids}"
        return str(ids[0])


@pytest.fixture(scope="module", params=BACKENDS)
def rebuilt(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Rebuilt]:
    election_dir = tmp_path_factory.mktemp(f"pemilu2019-{request.param}") / "election"
    schema: str | None = None
    store_args: list[str] = []
    if request.param == "postgres":
        base = request.getfixturevalue("postgres_url")
        schema = f"test_{uuid.uuid4().hex[:12]}"
        store_args = ["--store", f"{base}?saksi_schema={schema}"]
    try:
        run_saksi("example", "pemilu2019", DATA_DIR, election_dir, *store_args)
        before = dump(election_dir)
        if schema is None:
            database = election_dir / "db" / "saksi.sqlite"
            assert database.exists()
            for path in (database, *(Path(f"{database}{s}") for s in ("-wal", "-shm"))):
                path.unlink(missing_ok=True)
        else:
            drop_schema(schema)
        without = run_saksi("tally", election_dir, "--json", check=False)
        run_saksi("rebuild", election_dir)
        yield Rebuilt(election_dir, before, dump(election_dir), without)
    finally:
        if schema is not None:
            drop_schema(schema)


# -- the tests --------------------------------------------------------------------------


def test_rebuild_reproduces_the_sorted_logical_dump(rebuilt: Rebuilt) -> None:
    assert rebuilt.dump_before, "the dump of the built election is empty"
    tables = {line.split("\t", 1)[0] for line in rebuilt.dump_before}
    assert {"regions", "tps", "forms", "tally"} <= tables
    assert rebuilt.dump_after == rebuilt.dump_before


def test_tally_without_a_projection_is_a_clear_error(rebuilt: Rebuilt) -> None:
    result = rebuilt.tally_without_projection
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "has no projection database" in result.stderr
    assert "saksi rebuild" in result.stderr


@pytest.mark.parametrize("source", SOURCES)
def test_national_totals_equal_the_csv_column_sums(
    rebuilt: Rebuilt, stations: dict[str, Station], source: str
) -> None:
    expected = column_sums(source, stations, provinsi=None)
    report = rebuilt.tally(source)

    assert expected.rows == REFERENCE_ROWS[source]
    assert expected.votes_sum_valid == REFERENCE_VOTES_SUM_VALID[source]

    assert report["source"] == source
    assert report["contest"] == "PPWP"
    assert report["choices"] == expected.choices
    assert report["valid"] == expected.valid
    assert report["invalid"] == expected.invalid
    assert report["voters"] == expected.voters
    assert report["missing"].get("pengguna_hak_pilih", 0) == expected.voters_missing
    assert report["tps_reported"] == expected.rows
    assert report["flagged_tps"].get("votes_sum_valid", 0) == expected.votes_sum_valid
    assert report["flagged_tps"].get("valid_invalid_voters", 0) == expected.valid_invalid_voters
    assert report["dpt"] == expected.dpt
    assert report["missing"].get("dpt", 0) == expected.dpt_missing
    assert report["tps_total"] == len(stations) == REFERENCE_TPS_TOTAL


@pytest.mark.parametrize("source", SOURCES)
def test_provinsi_bali_equals_the_csv_sums_over_its_tps(
    rebuilt: Rebuilt, stations: dict[str, Station], source: str
) -> None:
    expected = column_sums(source, stations, provinsi="BALI")
    bali = rebuilt.region_id("BALI")
    report = rebuilt.tally(source, region=bali)

    assert expected.rows > 0
    assert report["region"]["id"] == bali
    assert report["region"]["name"] == "BALI"
    assert report["choices"] == expected.choices
    assert report["valid"] == expected.valid
    assert report["invalid"] == expected.invalid
    assert report["voters"] == expected.voters
    assert report["missing"].get("pengguna_hak_pilih", 0) == expected.voters_missing
    assert report["tps_reported"] == expected.rows
    assert report["flagged_tps"].get("votes_sum_valid", 0) == expected.votes_sum_valid
    assert report["dpt"] == expected.dpt
    assert report["tps_total"] == sum(1 for s in stations.values() if s.provinsi == "BALI")


def test_report_has_every_contract_key(rebuilt: Rebuilt) -> None:
    for source in SOURCES:
        report = rebuilt.tally(source)
        assert set(report) >= CONTRACT_KEYS, CONTRACT_KEYS - set(report)
        assert set(report["region"]) >= {"id", "name", "level"}
        assert all(isinstance(v, int) for v in report["choices"].values())
        assert all(isinstance(v, int) for v in report["flagged_tps"].values())
        assert all(isinstance(v, int) for v in report["missing"].values())


def test_log_size_is_the_number_of_record_entries(rebuilt: Rebuilt) -> None:
    entries = record_entries(rebuilt.election_dir)
    # registry, two sources of forms, plus the manifest, keys and attestations
    assert entries > REFERENCE_ROWS["kawalpemilu"] + REFERENCE_ROWS["situng"]
    for source in SOURCES:
        assert rebuilt.tally(source)["log_size"] == entries
