"""Registry import (b): the 2019 `tps.csv` format, whose tree is given as paths of names.

Region ids above the desa are derived from the path of names (docs/registry.md, "Region
ids derived from names"); `doc_region_id` below implements that text independently of
Saksi. The real ../shared/data/pemilu2019/tps.csv is read with the `csv` module for every
expectation; small hand-written files cover the cases the real data lacks. The end-to-end
test imports through the CLI on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from conftest import DATA, REPO
from saksi.election.election import Election
from saksi.election.folder import ElectionFolder
from saksi.errors import RegistryError, SaksiError
from saksi.keys.ed25519 import SigningKey
from saksi.log.entry import EntryType, decode_entry, encode_entry
from saksi.log.record import Record
from saksi.manifest.load import load_manifest
from saksi.registry.entries import TPS_PER_ENTRY, DesaRecord, registry_payloads
from saksi.registry.model import Level, TpsKind
from saksi.registry.pemilu2019 import path_region_id, read_pemilu2019
from support import run_saksi, tally_json

TPS_CSV = DATA / "pemilu2019" / "tps.csv"
MANIFEST = REPO / "src" / "saksi" / "examples" / "pemilu2019.toml"
HEADER = [
    "tps_id",
    "provinsi",
    "kabupaten_kota",
    "kecamatan",
    "desa_kelurahan",
    "desa_id",
    "tps_no",
    "dpt",
]
NAME_COLUMNS = HEADER[1:5]
LEVELS = (Level.PROVINSI, Level.KABUPATEN_KOTA, Level.KECAMATAN, Level.DESA)
MAX_ENTRY = 65_535

# The worked examples printed in docs/registry.md (path of names -> id).
DOC_EXAMPLES = {
    "DKI JAKARTA": "rfe5979d6c740385f",
    "DKI JAKARTA/KEPULAUAN SERIBU": "rb183434a8a0ef049",
    "DKI JAKARTA/KEPULAUAN SERIBU/KEPULAUAN SERIBU UTARA": "r743e9710a08a94d7",
    "Luar Negeri/Uni Emirat Arab/Abu Dhabi": "rae77716ec64a189d",
}

Row = dict[str, str]


def doc_region_id(names: Iterable[str]) -> str:
    """docs/registry.md: clean each name (split on whitespace, join with one space), join
    provinsi-first with '/', SHA-256 of the UTF-8 bytes, 'r' + first 16 lowercase hex."""
    joined = "/".join(" ".join(name.split()) for name in names)
    return "r" + hashlib.sha256(joined.encode("utf-8")).hexdigest()[:16]


def expected_ids(row: Row) -> list[str]:
    """Region ids provinsi..desa of a tps.csv row, per the documented scheme."""
    names = [row[c] for c in NAME_COLUMNS]
    return [doc_region_id(names[: i + 1]) for i in range(3)] + [row["desa_id"].strip()]


def write_rows(path: Path, rows: Iterable[Row]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADER, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def row(tps_id: str, names: str, desa_id: str, tps_no: int, dpt: int | None) -> Row:
    provinsi, kabupaten, kecamatan, desa = names.split("|")
    return {
        "tps_id": tps_id,
        "provinsi": provinsi,
        "kabupaten_kota": kabupaten,
        "kecamatan": kecamatan,
        "desa_kelurahan": desa,
        "desa_id": desa_id,
        "tps_no": str(tps_no),
        "dpt": "" if dpt is None else str(dpt),
    }


def by_desa(desas: Iterable[DesaRecord]) -> dict[str, tuple[tuple[str, str, str], ...]]:
    """desa id -> its path as (id, parent, name) per level, for order-free comparison."""
    out: dict[str, tuple[tuple[str, str, str], ...]] = {}
    for path, _ in desas:
        out[path[-1].id] = tuple((r.id, str(r.parent), r.name) for r in path)
    return out


@pytest.fixture(scope="module")
def real_rows() -> list[Row]:
    with TPS_CSV.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def real_desas() -> list[DesaRecord]:
    return list(read_pemilu2019(TPS_CSV))


# -- derived region ids ----------------------------------------------------------------------


def test_doc_examples_are_sha256_of_the_path() -> None:
    for path, region_id in DOC_EXAMPLES.items():
        assert doc_region_id(path.split("/")) == region_id, path
        assert path_region_id(path.split("/")) == region_id, path
    digest = hashlib.sha256(b"DKI JAKARTA/KEPULAUAN SERIBU").hexdigest()
    assert digest.startswith("b183434a8a0ef049162fda")  # as the doc quotes it
    # Whitespace does not matter; case does.
    assert path_region_id(["  DKI\tJAKARTA ", "KEPULAUAN   SERIBU"]) == "rb183434a8a0ef049"
    assert path_region_id(["Dki Jakarta"]) != DOC_EXAMPLES["DKI JAKARTA"]


def test_real_paths_get_the_documented_ids(
    real_rows: list[Row], real_desas: list[DesaRecord]
) -> None:
    first_row: dict[str, Row] = {}
    for r in real_rows:
        first_row.setdefault(r["desa_id"], r)
    assert len(real_desas) == len(first_row)
    for path, _ in real_desas:
        source = first_row[path[-1].id]
        assert [r.id for r in path] == expected_ids(source)
        assert [r.name for r in path] == [" ".join(source[c].split()) for c in NAME_COLUMNS]
        assert tuple(r.level for r in path) == LEVELS
        assert [r.parent for r in path] == ["ID", *(r.id for r in path[:3])]
        assert all(r.id.startswith("r") for r in path[:3])

    # One documented path, found in the real file.
    seribu = next(r for r in real_rows if r["kecamatan"] == "KEPULAUAN SERIBU UTARA")
    path = next(p for p, _ in real_desas if p[-1].id == seribu["desa_id"])
    assert [r.id for r in path[:3]] == [
        DOC_EXAMPLES["DKI JAKARTA"],
        DOC_EXAMPLES["DKI JAKARTA/KEPULAUAN SERIBU"],
        DOC_EXAMPLES["DKI JAKARTA/KEPULAUAN SERIBU/KEPULAUAN SERIBU UTARA"],
    ]


def test_ids_are_stable_across_imports_and_reading_orders(
    real_rows: list[Row], real_desas: list[DesaRecord], tmp_path: Path
) -> None:
    original = by_desa(real_desas)
    assert by_desa(read_pemilu2019(TPS_CSV)) == original  # a second import

    reversed_csv = write_rows(tmp_path / "reversed.csv", reversed(real_rows))
    by_tps_id = write_rows(tmp_path / "sorted.csv", sorted(real_rows, key=lambda r: r["tps_id"]))
    for other in (reversed_csv, by_tps_id):
        desas = list(read_pemilu2019(other))
        assert by_desa(desas) == original
        tps = {t.id: t for _, tps_list in desas for t in tps_list}
        assert tps == {t.id: t for _, tps_list in real_desas for t in tps_list}


def test_same_kecamatan_name_under_two_kabupaten_in_the_real_data(
    real_rows: list[Row], real_desas: list[DesaRecord]
) -> None:
    kabupaten_of: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in real_rows:
        kabupaten_of[r["provinsi"], r["kecamatan"]].add(r["kabupaten_kota"])
    shared = {key: kabs for key, kabs in kabupaten_of.items() if len(kabs) > 1}
    assert shared, "the real data has a kecamatan name used in two kabupaten (JETIS)"

    kecamatan_ids: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    parent_of: dict[str, str | None] = {}
    for path, _ in real_desas:
        prov_region, kab_region, kec_region, _ = path
        kecamatan_ids[prov_region.name, kab_region.name, kec_region.name].add(kec_region.id)
        parent_of[kec_region.id] = kec_region.parent
        assert kec_region.parent == kab_region.id
    for (provinsi, kecamatan), kabupatens in shared.items():
        ids = [kecamatan_ids[provinsi, kab, kecamatan] for kab in sorted(kabupatens)]
        assert all(len(i) == 1 for i in ids)  # one id per path
        flat = [next(iter(i)) for i in ids]
        assert len(set(flat)) == len(kabupatens), (provinsi, kecamatan)
        for kab, kecamatan_id in zip(sorted(kabupatens), flat, strict=True):
            assert kecamatan_id == doc_region_id([provinsi, kab, kecamatan])
            assert parent_of[kecamatan_id] == doc_region_id([provinsi, kab])


SUKAMAJU_ROWS = [
    row("5001-001", "JAWA BARAT|KABUPATEN A|SUKAMAJU|SUKAMAJU", "5001", 1, 200),
    row("5002-001", "JAWA BARAT|KABUPATEN B|SUKAMAJU|SUKAMAJU", "5002", 1, 180),
    row("5002-002", "JAWA BARAT|KABUPATEN B|SUKAMAJU|SUKAMAJU", "5002", 2, None),
    row("6001-001", "JAWA TENGAH|KABUPATEN A|SUKAMAJU|SUKAMAJU", "6001", 1, 150),
]


def test_same_names_under_different_parents_hand_written(tmp_path: Path) -> None:
    desas = by_desa(read_pemilu2019(write_rows(tmp_path / "tps.csv", SUKAMAJU_ROWS)))
    assert set(desas) == {"5001", "5002", "6001"}
    kabupaten = {d: desas[d][1][0] for d in desas}
    kecamatan = {d: desas[d][2][0] for d in desas}
    # Three kabupaten (KABUPATEN A twice, under two provinsi) and three kecamatan SUKAMAJU.
    assert len(set(kabupaten.values())) == 3
    assert len(set(kecamatan.values())) == 3
    for d in desas:
        assert desas[d][2][1] == kabupaten[d]  # each SUKAMAJU under its own kabupaten
    assert kecamatan["5002"] == doc_region_id(["JAWA BARAT", "KABUPATEN B", "SUKAMAJU"])
    assert kabupaten["6001"] == doc_region_id(["JAWA TENGAH", "KABUPATEN A"])


# -- TPS -------------------------------------------------------------------------------------


def test_every_tps_as_the_file_gives_it(real_rows: list[Row], real_desas: list[DesaRecord]) -> None:
    expected = {
        r["tps_id"]: (
            r["desa_id"],
            int(r["tps_no"]),
            int(r["dpt"]) if r["dpt"] else None,
            TpsKind.OVERSEAS if r["provinsi"] == "Luar Negeri" else TpsKind.DOMESTIC,
        )
        for r in real_rows
    }
    assert len(expected) == len(real_rows)
    got = {t.id: (t.desa, t.number, t.dpt, t.kind) for _, tps in real_desas for t in tps}
    assert got == expected

    four_digit = {k: v for k, v in expected.items() if v[1] >= 1000}
    assert any(1001 <= v[1] < 2000 for v in four_digit.values())  # postal
    assert any(v[1] >= 2001 for v in four_digit.values())  # mobile box
    assert all(k.startswith("-") and k.endswith(f"-{v[1]}") for k, v in four_digit.items())
    # Unknown DPT is None, never 0: all overseas TPS and some domestic ones.
    no_dpt = [v for v in expected.values() if v[2] is None]
    assert any(v[3] is TpsKind.DOMESTIC for v in no_dpt)
    assert any(v[3] is TpsKind.OVERSEAS for v in no_dpt)


def test_desa_under_two_paths_is_refused(tmp_path: Path) -> None:
    rows = [
        row("5001-001", "JAWA BARAT|KABUPATEN A|SUKAMAJU|SUKAMAJU", "5001", 1, 200),
        row("5001-002", "JAWA BARAT|KABUPATEN A|SUKAJADI|SUKAMAJU", "5001", 2, 200),
    ]
    with pytest.raises(RegistryError, match=r"line 3: desa 5001 appears under two paths"):
        list(read_pemilu2019(write_rows(tmp_path / "tps.csv", rows)))
    # The same path spelt with other whitespace is the same path.
    rows[1] = row("5001-002", " JAWA  BARAT|KABUPATEN A |SUKAMAJU|SUKAMAJU", "5001", 2, 200)
    ((path, tps),) = read_pemilu2019(write_rows(tmp_path / "spaces.csv", rows))
    assert path[0].name == "JAWA BARAT"
    assert len(tps) == 2


BIG_DESA = "-997777"
BIG_TPS = 2 * TPS_PER_ENTRY + 37


def big_desa_rows() -> list[Row]:
    names = "Luar Negeri|Malaysia|Kuala Lumpur|Kuala Lumpur"
    return [row(f"{BIG_DESA}-{n:03d}", names, BIG_DESA, n, None) for n in range(1, BIG_TPS + 1)]


def test_big_desa_is_split_into_entries_that_fit(tmp_path: Path) -> None:
    desas = list(read_pemilu2019(write_rows(tmp_path / "tps.csv", big_desa_rows())))
    payloads = list(registry_payloads(desas))
    assert len(payloads) == math.ceil(BIG_TPS / TPS_PER_ENTRY) == 3
    key = SigningKey.generate()
    ids: list[str] = []
    for payload in payloads:
        assert payload["path"] == payloads[0]["path"]
        entry = key.entry(EntryType.REGISTRY, "pemilu2019", payload)
        size = len(encode_entry(entry.type, entry.election, entry.payload_bytes, entry.auth))
        assert size < MAX_ENTRY
        ids += [t["id"] for t in payload["tps"]]
    assert ids == [f"{BIG_DESA}-{n:03d}" for n in range(1, BIG_TPS + 1)]


# -- end to end through the CLI, on both backends ------------------------------------------


def dump_rows(election_dir: Path) -> dict[str, list[list[Any]]]:
    rows: dict[str, list[list[Any]]] = {}
    for line in run_saksi("dump", election_dir).stdout.splitlines():
        table, _, value = line.partition("\t")
        rows.setdefault(table, []).append(json.loads(value))
    return rows


def record_entries(election_dir: Path) -> list[bytes]:
    with Record(ElectionFolder(election_dir).record_path, writable=False) as record:
        return list(record.iter_from(0))


def test_end_to_end(real_rows: list[Row], tmp_path: Path, store_url: str | None) -> None:
    abu_dhabi = [r for r in real_rows if r["desa_id"] == "-990014"]
    assert {len(r["tps_no"]) for r in abu_dhabi} >= {1, 4}
    rows = abu_dhabi + SUKAMAJU_ROWS + big_desa_rows()
    tps_csv = write_rows(tmp_path / "tps.csv", rows)
    election_dir = tmp_path / "election"
    store = ["--store", store_url] if store_url is not None else []
    run_saksi("init", election_dir, "--manifest", MANIFEST, *store)
    out = run_saksi("registry", "import", election_dir, "--pemilu2019", tps_csv).stdout
    assert f"registered {len(rows)} TPS in 5 desa" in out

    # Totals per region, DPT summed over the TPS that have one.
    def expect(region_id: str, level: str, members: list[Row]) -> None:
        report = tally_json(election_dir, f"--region={region_id}")
        assert report["region"]["id"] == region_id
        assert report["region"]["level"] == level
        assert report["tps_total"] == len(members)
        assert report["dpt_total"] == sum(int(r["dpt"]) for r in members if r["dpt"])

    expect("-990014", "desa_kelurahan", abu_dhabi)
    expect(BIG_DESA, "desa_kelurahan", big_desa_rows())
    for kecamatan in dict.fromkeys(expected_ids(r)[2] for r in SUKAMAJU_ROWS):
        members = [m for m in SUKAMAJU_ROWS if expected_ids(m)[2] == kecamatan]
        expect(kecamatan, "kecamatan", members)
    national = tally_json(election_dir)
    assert national["tps_total"] == len(rows)
    assert national["dpt_total"] == sum(int(r["dpt"]) for r in rows if r["dpt"])

    # The projection holds every TPS as given: ids with '-', 4-digit numbers, null DPT.
    dump = dump_rows(election_dir)
    tps = {r[0]: r[1:] for r in dump["tps"]}
    assert tps == {
        r["tps_id"]: [
            r["desa_id"],
            int(r["tps_no"]),
            int(r["dpt"]) if r["dpt"] else None,
            "overseas" if r["provinsi"] == "Luar Negeri" else "domestic",
        ]
        for r in rows
    }
    assert tps["-990014-1001"] == ["-990014", 1001, None, "overseas"]
    regions = {r[0]: r[1:] for r in dump["regions"]}
    for r in rows:
        ids = expected_ids(r)
        for i, region_id in enumerate(ids):
            parent = "ID" if i == 0 else ids[i - 1]
            assert regions[region_id] == [parent, LEVELS[i].value, r[NAME_COLUMNS[i]]]

    # The big desa went into several registry entries, each within the entry limit.
    chunks = []
    for data in record_entries(election_dir):
        entry = decode_entry(data)
        if entry.type is EntryType.REGISTRY and entry.payload["path"][-1]["id"] == BIG_DESA:
            assert len(data) < MAX_ENTRY
            chunks.append([t["id"] for t in entry.payload["tps"]])
    assert len(chunks) == math.ceil(BIG_TPS / TPS_PER_ENTRY)
    assert sorted(i for chunk in chunks for i in chunk) == sorted(tps_id_of(big_desa_rows()))

    # A desa under a second path is refused in one line, and nothing is recorded.
    size = len(record_entries(election_dir))
    clash = [row("5001-009", "JAWA BARAT|KABUPATEN B|SUKAMAJU|SUKAMAJU", "5001", 9, 100)]
    clash_csv = write_rows(tmp_path / "clash.csv", [*SUKAMAJU_ROWS[:1], *clash])
    result = run_saksi("registry", "import", election_dir, "--pemilu2019", clash_csv, check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "desa 5001 appears under two paths" in lines[0]
    assert len(record_entries(election_dir)) == size

    # A form for an overseas TPS without DPT: counted in missing["dpt"] once it arrives.
    before = tally_json(election_dir, "--region=-990014", "--source", "kawalpemilu")
    assert before["tps_reported"] == 0
    assert "dpt" not in before["missing"]
    results = tmp_path / "results.csv"
    results.write_text(
        "tps_id,paslon_01,paslon_02,suara_sah,suara_tidak_sah,pengguna_hak_pilih\n"
        "-990014-1001,1200,800,2000,10,2010\n",
        encoding="utf-8",
    )
    run_saksi("results", "import", election_dir, results, "--source", "kawalpemilu")
    after = tally_json(election_dir, "--region=-990014", "--source", "kawalpemilu")
    assert after["tps_reported"] == 1
    assert after["choices"] == {"01": 1200, "02": 800}
    assert after["missing"].get("dpt") == 1


def tps_id_of(rows: list[Row]) -> list[str]:
    return [r["tps_id"] for r in rows]


def test_refused_import_records_nothing_even_late_in_a_big_file(tmp_path: Path) -> None:
    names = "JAWA BARAT|KABUPATEN A|SUKAMAJU"
    rows = [row(f"{d}-001", f"{names}|DESA {d}", str(d), 1, 100) for d in range(1, 5001)]
    rows.append(row("1-001", f"{names}|DESA 9999", "9999", 1, 100))  # TPS id of desa 1 again
    tps_csv = write_rows(tmp_path / "tps.csv", rows)
    with Election.create(tmp_path / "election", load_manifest(MANIFEST)) as election:
        size = len(election.record)
        with pytest.raises(SaksiError, match="TPS 1-001 is already registered"):
            election.import_registry(read_pemilu2019(tps_csv))
        assert len(election.record) == size
