"""Registry import (a): the KPU 2024 tree in ../shared/data/pemilu2024.

The real files are read once per module with `read_kpu2024`, and every expectation is
computed here with the `csv` module from the same files. The CLI tests run
`saksi registry import --kpu2024` on a small copy restricted to a few kecamatan, and check
through `saksi tally` and `saksi dump` that the registry landed, with null DPT where the
DPT file gives none, and that bad input is refused in one line with nothing recorded.
"""

from __future__ import annotations

import csv
import json
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conftest import DATA, REPO
from saksi.election.folder import ElectionFolder
from saksi.log.record import Record
from saksi.registry.entries import DesaRecord
from saksi.registry.kpu2024 import read_kpu2024
from saksi.registry.model import Level, TpsKind
from support import run_saksi, tally_json

KPU_DIR = DATA / "pemilu2024"
MANIFEST = REPO / "src" / "saksi" / "examples" / "nasional2024.toml"

LEVELS = (Level.PROVINSI, Level.KABUPATEN_KOTA, Level.KECAMATAN, Level.DESA)
CODE_LENGTH = {Level.PROVINSI: 2, Level.KABUPATEN_KOTA: 4, Level.KECAMATAN: 6, Level.DESA: 10}

# Published figures for the data set (README), to catch a change in the files themselves.
REFERENCE = {"tps": 820_161, "desa": 83_731, "kecamatan": 7_277, "kabupaten": 514, "prov": 38}

# The small copy: kecamatan BAKONGAN (no special TPS) and one whose desa 1101082007 has
# special TPS 901, both in kabupaten ACEH SELATAN.
SMALL_KECAMATAN = ("110101", "110108")


# -- the real files, read with the csv module --------------------------------------------


@dataclass(frozen=True)
class KpuCsv:
    header_regions: list[str]
    regions: dict[str, dict[str, str]]  # code -> row
    header_tps: list[str]
    tps_rows: list[dict[str, str]]

    def expected_tps(self, row: dict[str, str]) -> set[str]:
        desa = row["desa_code"]
        numbers = set(range(1, int(row["tps_count"]) + 1))
        if row["special_first"]:
            numbers |= set(range(int(row["special_first"]), int(row["special_last"]) + 1))
        return {desa + str(n).zfill(3) for n in numbers}

    def ancestors(self, desa: str) -> list[str]:
        """Codes provinsi..desa, by following the parent column upwards."""
        out = [desa]
        while self.regions[out[-1]]["parent"]:
            out.append(self.regions[out[-1]]["parent"])
        return out[::-1]


def _read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


@pytest.fixture(scope="module")
def kpu_csv() -> KpuCsv:
    header_regions, region_rows = _read_rows(KPU_DIR / "regions.csv")
    header_tps, tps_rows = _read_rows(KPU_DIR / "tps_per_desa.csv")
    regions = {row["code"]: row for row in region_rows}
    assert len(regions) == len(region_rows), "regions.csv repeats a code"
    return KpuCsv(header_regions, regions, header_tps, tps_rows)


@pytest.fixture(scope="module")
def desas() -> list[DesaRecord]:
    """The whole real tree as read_kpu2024 yields it (a few seconds: once per module)."""
    return list(read_kpu2024(KPU_DIR))


# -- the full data set ----------------------------------------------------------------------


def test_counts_match_the_files_and_the_published_figures(
    desas: list[DesaRecord], kpu_csv: KpuCsv
) -> None:
    expected_tps = sum(len(kpu_csv.expected_tps(row)) for row in kpu_csv.tps_rows)
    assert expected_tps == REFERENCE["tps"]
    assert len(kpu_csv.tps_rows) == REFERENCE["desa"]

    assert sum(len(tps) for _, tps in desas) == expected_tps
    assert len(desas) == len(kpu_csv.tps_rows)
    assert len({path[-1].id for path, _ in desas}) == len(desas)

    reached: dict[Level, set[str]] = {level: set() for level in LEVELS}
    for path, _ in desas:
        for region in path:
            reached[region.level].add(region.id)
    assert len(reached[Level.PROVINSI]) == REFERENCE["prov"]
    assert len(reached[Level.KABUPATEN_KOTA]) == REFERENCE["kabupaten"]
    assert len(reached[Level.KECAMATAN]) == REFERENCE["kecamatan"]
    assert len(reached[Level.DESA]) == REFERENCE["desa"]

    # The same sets, computed by walking regions.csv upwards from each desa of tps_per_desa.
    from_csv: dict[Level, set[str]] = {level: set() for level in LEVELS}
    for row in kpu_csv.tps_rows:
        for level, code in zip(LEVELS, kpu_csv.ancestors(row["desa_code"]), strict=True):
            from_csv[level].add(code)
    assert reached == from_csv


def test_tps_ids_are_desa_code_and_three_digit_number(
    desas: list[DesaRecord], kpu_csv: KpuCsv
) -> None:
    expected = {row["desa_code"]: kpu_csv.expected_tps(row) for row in kpu_csv.tps_rows}
    for path, tps_list in desas:
        desa = path[-1].id
        ids = [t.id for t in tps_list]
        assert len(ids) == len(set(ids)), desa
        assert set(ids) == expected[desa], desa
        for tps in tps_list:
            assert len(tps.id) == 13, tps
            assert tps.id.isdigit(), tps
            assert tps.id[:10] == desa == tps.desa
            assert int(tps.id[10:]) == tps.number
            assert tps.kind is TpsKind.DOMESTIC
            assert tps.dpt is None  # no --dpt file: DPT unknown, never 0


def test_special_tps_exist_where_the_file_says(desas: list[DesaRecord], kpu_csv: KpuCsv) -> None:
    expected: set[str] = set()
    desa_with_special = 0
    for row in kpu_csv.tps_rows:
        assert bool(row["special_first"]) == bool(row["special_last"]), row
        if row["special_first"]:
            desa_with_special += 1
            first, last = int(row["special_first"]), int(row["special_last"])
            assert 901 <= first <= last, row
            expected |= {f"{row['desa_code']}{n}" for n in range(first, last + 1)}
    assert desa_with_special > 0
    assert expected

    max_regular = max(int(row["tps_count"]) for row in kpu_csv.tps_rows)
    assert max_regular < 901  # so a number of 901 and up is always a special TPS
    special = {t.id for _, tps_list in desas for t in tps_list if t.number >= 901}
    assert special == expected


def test_every_path_runs_provinsi_to_desa(desas: list[DesaRecord], kpu_csv: KpuCsv) -> None:
    codes = [path[-1].id for path, _ in desas]
    assert codes == sorted(codes)  # documented: desa in code order
    for path, _ in desas:
        assert tuple(r.level for r in path) == LEVELS
        assert [r.id for r in path] == kpu_csv.ancestors(path[-1].id)
        parent = "ID"
        for region in path:
            assert len(region.id) == CODE_LENGTH[region.level], region
            assert region.id.isdigit(), region
            assert region.parent == parent, region
            assert parent == "ID" or region.id.startswith(parent), region
            row = kpu_csv.regions[region.id]
            assert row["level"] == region.level.value
            assert region.name == row["name"].strip()
            parent = region.id


# -- the CLI on a small copy ---------------------------------------------------------------


@dataclass(frozen=True)
class SmallCopy:
    kpu_dir: Path
    dpt_file: Path
    dpt: dict[str, int]  # TPS given a DPT
    empty_dpt: str  # a TPS listed in the DPT file with an empty cell
    tps: dict[str, set[str]]  # kecamatan -> its TPS ids
    region_rows: list[dict[str, str]]
    tps_rows: list[dict[str, str]]


def write_csv(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def make_small_copy(kpu_csv: KpuCsv, folder: Path) -> SmallCopy:
    kpu_dir = folder / "kpu"
    kpu_dir.mkdir()
    tps_rows = [r for r in kpu_csv.tps_rows if r["desa_code"][:6] in SMALL_KECAMATAN]
    keep = {code for r in tps_rows for code in kpu_csv.ancestors(r["desa_code"])}
    region_rows = [row for code, row in kpu_csv.regions.items() if code in keep]
    write_csv(kpu_dir / "regions.csv", kpu_csv.header_regions, region_rows)
    write_csv(kpu_dir / "tps_per_desa.csv", kpu_csv.header_tps, tps_rows)

    tps: dict[str, set[str]] = {k: set() for k in SMALL_KECAMATAN}
    for row in tps_rows:
        tps[row["desa_code"][:6]] |= kpu_csv.expected_tps(row)
    # DPT for the first four TPS of the first kecamatan; the fifth is listed but empty.
    first = sorted(tps[SMALL_KECAMATAN[0]])
    dpt = {tps_id: 150 + i * 11 for i, tps_id in enumerate(first[:4])}
    empty = first[4]
    lines = ["tps_id,dpt", *(f"{k},{v}" for k, v in dpt.items()), f"{empty},"]
    dpt_file = folder / "dpt.csv"
    dpt_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return SmallCopy(kpu_dir, dpt_file, dpt, empty, tps, region_rows, tps_rows)


@dataclass(frozen=True)
class Imported:
    election_dir: Path
    copy: SmallCopy
    folder: Path
    dump: str  # the sorted logical dump right after the import


@pytest.fixture(scope="module")
def imported(kpu_csv: KpuCsv, tmp_path_factory: pytest.TempPathFactory) -> Imported:
    folder = tmp_path_factory.mktemp("kpu2024")
    copy = make_small_copy(kpu_csv, folder)
    election_dir = folder / "election"
    run_saksi("init", election_dir, "--manifest", MANIFEST)
    out = run_saksi(
        "registry", "import", election_dir, "--kpu2024", copy.kpu_dir, "--dpt", copy.dpt_file
    ).stdout
    n_tps = sum(len(ids) for ids in copy.tps.values())
    assert f"registered {n_tps} TPS in {len(copy.tps_rows)} desa" in out
    return Imported(election_dir, copy, folder, run_saksi("dump", election_dir).stdout)


def dump_rows(dump: str) -> dict[str, list[list[Any]]]:
    rows: dict[str, list[list[Any]]] = {}
    for line in dump.splitlines():
        table, _, value = line.partition("\t")
        rows.setdefault(table, []).append(json.loads(value))
    return rows


def record_size(election_dir: Path) -> int:
    with Record(ElectionFolder(election_dir).record_path, writable=False) as record:
        return len(record)


def test_cli_import_tally(imported: Imported) -> None:
    copy = imported.copy
    for kecamatan in SMALL_KECAMATAN:
        report = tally_json(imported.election_dir, "--region", kecamatan)
        assert report["region"]["id"] == kecamatan
        assert report["region"]["level"] == "kecamatan"
        assert report["tps_total"] == len(copy.tps[kecamatan])
        expected_dpt = sum(v for k, v in copy.dpt.items() if k[:6] == kecamatan)
        assert report["dpt_total"] == expected_dpt
    national = tally_json(imported.election_dir)
    assert national["region"]["id"] == "ID"
    assert national["tps_total"] == sum(len(ids) for ids in copy.tps.values())
    assert national["dpt_total"] == sum(copy.dpt.values())
    assert national["log_size"] == record_size(imported.election_dir)


def test_cli_import_dump(imported: Imported) -> None:
    copy = imported.copy
    rows = dump_rows(imported.dump)
    assert ["log_size", str(record_size(imported.election_dir))] in rows["meta"]
    regions = {r[0]: r for r in rows["regions"]}
    expected_regions = {r["code"]: r for r in copy.region_rows}
    assert set(regions) == {"ID", *expected_regions}
    for code, row in expected_regions.items():
        assert regions[code] == [code, row["parent"] or "ID", row["level"], row["name"].strip()]

    tps = {r[0]: r for r in rows["tps"]}
    all_ids = set().union(*copy.tps.values())
    assert set(tps) == all_ids
    special = [t for t in tps.values() if t[2] >= 901]
    assert special, "the small copy should hold a special TPS"
    for tps_id, (_, desa, number, dpt, kind) in tps.items():
        assert desa == tps_id[:10]
        assert number == int(tps_id[10:])
        assert kind == "domestic"
        assert dpt == copy.dpt.get(tps_id), tps_id  # null where the DPT is unknown
    assert tps[copy.empty_dpt][3] is None
    assert Counter(t[3] is None for t in tps.values())[False] == len(copy.dpt)


def _assert_refused(
    imported: Imported, args: list[str | Path], *phrases: str
) -> subprocess.CompletedProcess[str]:
    election_dir = imported.election_dir
    size = record_size(election_dir)
    result = run_saksi("registry", "import", election_dir, *args, check=False)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for phrase in phrases:
        assert phrase in lines[0], (phrase, lines[0])
    assert record_size(election_dir) == size
    assert run_saksi("dump", election_dir).stdout == imported.dump
    return result


def _bad_copy(imported: Imported, name: str) -> Path:
    bad = imported.folder / name
    bad.mkdir()
    for file in ("regions.csv", "tps_per_desa.csv"):
        (bad / file).write_bytes((imported.copy.kpu_dir / file).read_bytes())
    return bad


def test_malformed_region_code_is_refused(imported: Imported) -> None:
    bad = _bad_copy(imported, "bad-code")
    path = bad / "regions.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    index = next(i for i, line in enumerate(lines) if ",kecamatan," in line)
    code = lines[index].split(",")[0]
    lines[index] = lines[index].replace(code, code[:5], 1)  # a 5-digit kecamatan code
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _assert_refused(
        imported,
        ["--kpu2024", bad],
        "regions.csv",
        f"line {index + 1}",
        code[:5],
        "kecamatan",
    )


def test_desa_missing_from_regions_is_refused(imported: Imported) -> None:
    bad = _bad_copy(imported, "missing-desa")
    known = {r["code"] for r in imported.copy.region_rows}
    stranger = next(r["desa_code"] for r in imported.copy.tps_rows)[:6] + "9999"
    assert stranger not in known
    path = bad / "tps_per_desa.csv"
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"{stranger},2,,\n")
    n_lines = len(path.read_text(encoding="utf-8").splitlines())
    _assert_refused(
        imported,
        ["--kpu2024", bad],
        "tps_per_desa.csv",
        f"line {n_lines}",
        stranger,
        "regions.csv",
    )


@pytest.mark.parametrize("value", ["12.5", "abc", "-3"])
def test_non_integer_dpt_is_refused(imported: Imported, value: str) -> None:
    bad = imported.folder / f"dpt-{value}.csv"
    tps_id = sorted(imported.copy.tps[SMALL_KECAMATAN[1]])[0]
    bad.write_text(f"tps_id,dpt\n{tps_id},100\n{tps_id[:-1]}9,{value}\n", encoding="utf-8")
    _assert_refused(
        imported,
        ["--kpu2024", imported.copy.kpu_dir, "--dpt", bad],
        bad.name,
        "line 3",
        repr(value),
    )
