"""The `saksi` command as users and scripts meet it: its contract, and its errors.

Every user mistake must end with a non-zero exit, one specific line in election words on
stderr, no traceback, and nothing stored: the record, every file of the election folder
outside the projection database, and the sorted logical dump stay exactly as they were.
Each test runs the real CLI in a subprocess, on SQLite and on PostgreSQL where it touches
an election.
"""

from __future__ import annotations

import hashlib
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import REPO, drop_schema
from support import run_saksi, tally_json

MANIFEST = REPO / "src" / "saksi" / "examples" / "pemilu2019.toml"

TPS_CSV = """\
tps_id,provinsi,kabupaten_kota,kecamatan,desa_kelurahan,desa_id,tps_no,dpt
-990014-001,Luar Negeri,Uni Emirat Arab,Abu Dhabi,Abu Dhabi,-990014,1,
-990014-1001,Luar Negeri,Uni Emirat Arab,Abu Dhabi,Abu Dhabi,-990014,1001,
25880-001,DKI JAKARTA,JAKARTA PUSAT,TANAH ABANG,KAMPUNG BALI,25880,1,240
25880-002,DKI JAKARTA,JAKARTA PUSAT,TANAH ABANG,KAMPUNG BALI,25880,2,210
41866-001,DAERAH ISTIMEWA YOGYAKARTA,KULON PROGO,TEMON,JANGKARAN,41866,1,288
"""
RESULTS_HEADER = "tps_id,paslon_01,paslon_02,suara_sah,suara_tidak_sah,pengguna_hak_pilih"
GOOD_ROWS = (
    "-990014-001,115,154,269,3,272",
    "-990014-1001,1200,800,2000,10,",
    "25880-001,100,90,190,5,195",
)


# -- helpers ------------------------------------------------------------------------


def write_csv(path: Path, header: str, rows: list[str] | tuple[str, ...]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def assert_user_error(result: subprocess.CompletedProcess[str], *phrases: str) -> None:
    """A non-zero exit, no traceback, and one stderr line that holds every phrase."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if all(p in line for p in phrases)]
    assert len(lines) == 1, f"no single stderr line holds {phrases}:\n{result.stderr}"


def record_size(election_dir: Path) -> int:
    """Entries in the record file, read by its framing: a big-endian uint16 length each."""
    data = (election_dir / "record" / "entries").read_bytes()
    position = count = 0
    while position + 2 <= len(data):
        position += 2 + int.from_bytes(data[position : position + 2], "big")
        count += 1
    assert position == len(data)
    return count


@dataclass(frozen=True)
class Snapshot:
    """Everything a refused command must leave unchanged."""

    record_size: int
    files: dict[str, str]  # SHA-256 of every file outside the projection database
    dump: list[str]


def snapshot(election_dir: Path) -> Snapshot:
    files = {
        str(path.relative_to(election_dir)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(election_dir.rglob("*"))
        if path.is_file() and path.relative_to(election_dir).parts[0] != "db"
    }
    assert "record/entries" in files
    dump = run_saksi("dump", election_dir).stdout.splitlines()
    return Snapshot(record_size(election_dir), files, dump)


def init_args(election_dir: Path, store_url: str | None) -> list[str | Path]:
    store: list[str | Path] = ["--store", store_url] if store_url is not None else []
    return ["init", election_dir, "--manifest", MANIFEST, *store]


def make_election(folder: Path, store_url: str | None) -> Path:
    """A 2019 PPWP election with five TPS registered and no results yet."""
    election_dir = folder / "election"
    run_saksi(*init_args(election_dir, store_url))
    tps_csv = folder / "tps.csv"
    tps_csv.write_text(TPS_CSV, encoding="utf-8")
    out = run_saksi("registry", "import", election_dir, "--pemilu2019", tps_csv).stdout
    assert "registered 5 TPS in 3 desa" in out
    return election_dir


@pytest.fixture
def election(tmp_path: Path, store_url: str | None) -> Path:
    return make_election(tmp_path, store_url)


@dataclass(frozen=True)
class Untouched:
    """An election that only ever sees refused commands, and its snapshot when made."""

    election_dir: Path
    before: Snapshot


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def untouched(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Untouched]:
    """Like `election`, shared by the tests of refusals (so built once per backend)."""
    schema: str | None = None
    url: str | None = None
    if request.param == "postgres":
        schema = f"test_{uuid.uuid4().hex[:12]}"
        url = f"{request.getfixturevalue('postgres_url')}?saksi_schema={schema}"
    try:
        election_dir = make_election(tmp_path_factory.mktemp("untouched"), url)
        yield Untouched(election_dir, snapshot(election_dir))
    finally:
        if schema is not None:
            drop_schema(schema)


# -- saksi init ------------------------------------------------------------------------


def test_init_creates_an_election_folder(tmp_path: Path, store_url: str | None) -> None:
    election_dir = tmp_path / "election"
    out = run_saksi(*init_args(election_dir, store_url)).stdout
    assert "election pemilu2019 created" in out
    assert (election_dir / "saksi.toml").is_file()
    assert (election_dir / "record" / "entries").stat().st_size > 0
    report = tally_json(election_dir)
    assert report["contest"] == "PPWP"
    assert report["source"] == "kpps"  # the official source is the default
    assert report["tps_reported"] == report["tps_total"] == 0


def test_init_with_a_missing_manifest_is_refused(tmp_path: Path) -> None:
    result = run_saksi(
        "init", tmp_path / "election", "--manifest", tmp_path / "nope.toml", check=False
    )
    assert_user_error(result, "nope.toml", "does not exist")
    assert not (tmp_path / "election").exists()


def test_init_with_malformed_toml_is_refused(tmp_path: Path) -> None:
    manifest = tmp_path / "broken-manifest.toml"
    manifest.write_text('[election\nid = "x"\n', encoding="utf-8")
    result = run_saksi("init", tmp_path / "election", "--manifest", manifest, check=False)
    assert_user_error(result, "broken-manifest.toml", "is not valid TOML", "line 1")
    assert not (tmp_path / "election").exists()


@pytest.mark.parametrize(
    ("old", "new", "phrases"),
    [
        pytest.param(
            'required = ["suara_sah", "suara_tidak_sah"]\n\n[[source]]\nid = "situng"',
            'required = ["suara_sah", "suara_tidak_sah", "warna_tinta"]\n\n'
            '[[source]]\nid = "situng"',
            ("source kawalpemilu", "warna_tinta"),
            id="required-field-not-on-the-form",
        ),
        pytest.param(
            'fields = ["pengguna_hak_pilih", "suara_sah", "suara_tidak_sah"]\n'
            'required = ["pengguna_hak_pilih", "suara_sah", "suara_tidak_sah"]',
            'fields = ["pengguna_hak_pilih", "suara_sah", "suara_tidak_sah", "warna_tinta"]\n'
            'required = ["pengguna_hak_pilih", "suara_sah", "suara_tidak_sah"]',
            ("source kpps", "unknown form field", "warna_tinta"),
            id="unknown-form-field",
        ),
        pytest.param(
            'required = ["pengguna_hak_pilih", "suara_sah", "suara_tidak_sah"]',
            'requried = ["pengguna_hak_pilih", "suara_sah", "suara_tidak_sah"]',
            ("source kpps", "requried"),
            id="misspelt-key-in-a-source",
        ),
        pytest.param(
            "domestic_tps_max_dpt = 300",
            "domestic_tps_max_dpt = 300\ntps_max = 500",
            ("[election]", "tps_max"),
            id="unknown-key-in-election",
        ),
        pytest.param(
            'id = "pemilu2019"\n',
            "",
            ("[election]", "'id'"),
            id="election-without-id",
        ),
        pytest.param(
            'kind = "pairs"',
            'kind = "pasangan"',
            ("contest PPWP", "'kind'"),
            id="unknown-contest-kind",
        ),
    ],
)
def test_init_with_a_bad_manifest_names_the_problem(
    tmp_path: Path, old: str, new: str, phrases: tuple[str, ...]
) -> None:
    text = MANIFEST.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"the example manifest changed; fix this test: {old!r}"
    manifest = tmp_path / "manifest.toml"
    manifest.write_text(text.replace(old, new), encoding="utf-8")
    result = run_saksi("init", tmp_path / "election", "--manifest", manifest, check=False)
    assert_user_error(result, *phrases)
    assert not (tmp_path / "election" / "saksi.toml").exists()


def test_init_into_an_existing_election_is_refused(election: Path, store_url: str | None) -> None:
    before = snapshot(election)
    result = run_saksi(*init_args(election, store_url), check=False)
    assert_user_error(result, str(election), "already holds an election")
    assert snapshot(election) == before


def test_init_with_an_unknown_store_leaves_no_half_made_election(tmp_path: Path) -> None:
    election_dir = tmp_path / "election"
    result = run_saksi(*init_args(election_dir, "mysql://localhost/pemilu"), check=False)
    assert_user_error(result, "unknown store", "mysql://localhost/pemilu")
    # The mistake is fixable by running init again with a good store.
    run_saksi(*init_args(election_dir, None))
    assert tally_json(election_dir)["tps_total"] == 0


# -- saksi tally --------------------------------------------------------------------------


def test_tally_on_a_folder_that_is_not_an_election(tmp_path: Path) -> None:
    result = run_saksi("tally", tmp_path, "--json", check=False)
    assert_user_error(result, str(tmp_path), "is not an election folder")
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("option", "value", "phrases"),
    [
        ("--region", "9999", ("region 9999", "not registered")),
        ("--contest", "DPD", ("contest DPD", "not part of")),
        ("--source", "partai-x", ("source partai-x", "not part of")),
    ],
)
def test_tally_of_an_unknown_region_contest_or_source(
    untouched: Untouched, option: str, value: str, phrases: tuple[str, ...]
) -> None:
    result = run_saksi("tally", untouched.election_dir, option, value, "--json", check=False)
    assert_user_error(result, *phrases)
    assert result.stdout == ""


def test_imported_results_show_in_the_tally_at_every_level(election: Path, tmp_path: Path) -> None:
    results = write_csv(tmp_path / "kawal.csv", RESULTS_HEADER, GOOD_ROWS)
    out = run_saksi("results", "import", election, results, "--source", "kawalpemilu").stdout
    assert "3 forms recorded" in out

    national = tally_json(election, "--source", "kawalpemilu")
    assert national["choices"] == {"01": 115 + 1200 + 100, "02": 154 + 800 + 90}
    assert national["valid"] == 269 + 2000 + 190
    assert national["invalid"] == 3 + 10 + 5
    assert national["voters"] == 272 + 195
    assert national["missing"]["pengguna_hak_pilih"] == 1
    assert national["tps_reported"] == 3
    assert national["tps_total"] == 5
    assert national["dpt"] == 240  # the only reporting TPS with a known DPT
    assert national["missing"]["dpt"] == 2

    # A desa id that begins with '-' is an ordinary region id.
    abroad = tally_json(election, "--source", "kawalpemilu", "--region=-990014")
    assert abroad["region"]["id"] == "-990014"
    assert abroad["choices"] == {"01": 115 + 1200, "02": 154 + 800}
    assert abroad["tps_reported"] == abroad["tps_total"] == 2

    # Other sources stay apart: the official source has nothing yet.
    official = tally_json(election)
    assert official["source"] == "kpps"
    assert official["tps_reported"] == 0
    assert official["choices"] == {"01": 0, "02": 0}


# -- saksi results import: hard errors store nothing -----------------------------------------


def test_results_import_refuses_a_bad_cell_with_its_line(
    untouched: Untouched, tmp_path: Path
) -> None:
    for bad in ("abc", "-3", "4.5", "1e3", "٣", "99999999999999999999"):
        rows = [GOOD_ROWS[0], f"25880-001,{bad},90,190,5,195", GOOD_ROWS[1]]
        results = write_csv(tmp_path / "bad-cell.csv", RESULTS_HEADER, rows)
        result = run_saksi(
            "results",
            "import",
            untouched.election_dir,
            results,
            "--source",
            "kawalpemilu",
            check=False,
        )
        assert_user_error(result, "line 3", "TPS 25880-001", "choice 01", bad)
        assert "nothing was imported" in result.stderr
    assert snapshot(untouched.election_dir) == untouched.before


@pytest.mark.parametrize(
    ("rows", "phrases"),
    [
        pytest.param(
            [GOOD_ROWS[0], "99999-001,1,2,3,0,3"],
            ("line 3", "TPS 99999-001", "not registered"),
            id="unknown-tps",
        ),
        pytest.param(
            [GOOD_ROWS[0], GOOD_ROWS[2], "-990014-001,116,154,270,3,273"],
            ("line 4", "TPS -990014-001", "already appears", "line 2"),
            id="duplicate-tps-row",
        ),
        pytest.param(
            [GOOD_ROWS[0], "25880-002,100,90,,5,195"],
            ("line 3", "25880-002", "suara_sah", "missing"),
            id="missing-required-field",
        ),
        pytest.param(
            [GOOD_ROWS[0], "25880-002,100,90,190,5"],
            ("line 3", "5 cells", "6"),
            id="short-row",
        ),
    ],
)
def test_results_import_refuses_a_bad_row_with_its_line(
    untouched: Untouched, tmp_path: Path, rows: list[str], phrases: tuple[str, ...]
) -> None:
    results = write_csv(tmp_path / "bad-row.csv", RESULTS_HEADER, rows)
    result = run_saksi(
        "results", "import", untouched.election_dir, results, "--source", "kawalpemilu", check=False
    )
    assert_user_error(result, *phrases)
    assert "nothing was imported" in result.stderr
    assert snapshot(untouched.election_dir) == untouched.before


@pytest.mark.parametrize(
    ("header", "args", "phrases"),
    [
        pytest.param(
            RESULTS_HEADER,
            ["--source", "partai-x"],
            ("source partai-x", "not part of election pemilu2019"),
            id="unknown-source",
        ),
        pytest.param(
            RESULTS_HEADER,
            ["--source", "kawalpemilu", "--contest", "DPR"],
            ("contest DPR", "not part of election pemilu2019"),
            id="unknown-contest",
        ),
        pytest.param(
            RESULTS_HEADER.replace("paslon_02", "paslon_03"),
            ["--source", "kawalpemilu"],
            ("paslon_03", "neither a PPWP choice nor a field"),
            id="unknown-choice-column",
        ),
    ],
)
def test_results_import_refuses_an_unknown_source_contest_or_choice(
    untouched: Untouched, tmp_path: Path, header: str, args: list[str], phrases: tuple[str, ...]
) -> None:
    results = write_csv(tmp_path / "results.csv", header, GOOD_ROWS)
    result = run_saksi("results", "import", untouched.election_dir, results, *args, check=False)
    assert_user_error(result, *phrases)
    assert snapshot(untouched.election_dir) == untouched.before


def test_input_files_that_are_not_utf8_are_refused(untouched: Untouched, tmp_path: Path) -> None:
    """A spreadsheet saved as Latin-1 ("KAMPUNG BÉLI") is a user mistake, not a crash."""
    results = tmp_path / "latin1-results.csv"
    latin1 = b"25880-001,1\xe9,2,3,0,3\n"
    results.write_bytes(f"{RESULTS_HEADER}\n{GOOD_ROWS[0]}\n".encode() + latin1)
    result = run_saksi(
        "results",
        "import",
        untouched.election_dir,
        results,
        "--source",
        "kawalpemilu",
        check=False,
    )
    assert_user_error(result, "not UTF-8")

    tps_csv = tmp_path / "latin1-tps.csv"
    tps_csv.write_bytes(
        TPS_CSV.splitlines()[0].encode()
        + b"\n25880-009,DKI JAKARTA,JAKARTA PUSAT,TANAH ABANG,KAMPUNG B\xc9LI,25880,9,200\n"
    )
    result = run_saksi(
        "registry", "import", untouched.election_dir, "--pemilu2019", tps_csv, check=False
    )
    assert_user_error(result, "not UTF-8")
    assert snapshot(untouched.election_dir) == untouched.before

    manifest = tmp_path / "latin1-manifest.toml"
    manifest.write_bytes(MANIFEST.read_bytes().replace(b"Pemilu Presiden", b"Pemil\xfa Presiden"))
    result = run_saksi("init", tmp_path / "election", "--manifest", manifest, check=False)
    assert_user_error(result, "not UTF-8")
    assert not (tmp_path / "election" / "saksi.toml").exists()


def test_importing_the_same_csv_twice_records_it_once(election: Path, tmp_path: Path) -> None:
    results = write_csv(tmp_path / "kawal.csv", RESULTS_HEADER, GOOD_ROWS)
    first = run_saksi("results", "import", election, results, "--source", "kawalpemilu")
    assert "3 forms recorded" in first.stdout
    after_first = snapshot(election)
    totals = tally_json(election, "--source", "kawalpemilu")

    second = run_saksi("results", "import", election, results, "--source", "kawalpemilu")
    assert "0 forms recorded" in second.stdout
    assert "3 were already recorded" in second.stdout
    assert snapshot(election) == after_first
    assert tally_json(election, "--source", "kawalpemilu") == totals
    assert totals["tps_reported"] == 3


def test_a_different_form_for_a_recorded_tps_is_refused(election: Path, tmp_path: Path) -> None:
    """A second version without 'replaces' is a hard error, not a silent overwrite."""
    run_saksi(
        "results",
        "import",
        election,
        write_csv(tmp_path / "first.csv", RESULTS_HEADER, GOOD_ROWS),
        "--source",
        "kawalpemilu",
    )
    before = snapshot(election)
    changed = write_csv(tmp_path / "changed.csv", RESULTS_HEADER, ["25880-001,101,90,191,5,196"])
    result = run_saksi(
        "results", "import", election, changed, "--source", "kawalpemilu", check=False
    )
    assert_user_error(result, "line 2", "TPS 25880-001", "already has a PPWP form")
    assert snapshot(election) == before


def test_a_conflicting_row_late_in_a_large_file_stores_nothing(
    tmp_path: Path, store_url: str | None
) -> None:
    """All rows or none, even when the refused row lies beyond the first attestation batch."""
    election_dir = tmp_path / "election"
    run_saksi(*init_args(election_dir, store_url))
    header = TPS_CSV.splitlines()[0]
    stations = [f"12345-{n:03d},BALI,BADUNG,KUTA,KUTA,12345,{n},200" for n in range(1, 1501)]
    tps_csv = write_csv(tmp_path / "tps.csv", header, stations)
    run_saksi("registry", "import", election_dir, "--pemilu2019", tps_csv)

    late = "12345-1400"
    run_saksi(
        "results",
        "import",
        election_dir,
        write_csv(tmp_path / "one.csv", RESULTS_HEADER, [f"{late},100,50,150,2,152"]),
        "--source",
        "situng",
    )
    before = snapshot(election_dir)

    rows = [f"12345-{n:03d},100,50,150,2,152" for n in range(1, 1501)]
    rows[1399] = f"{late},101,50,151,2,153"  # line 1401: differs from the recorded form
    result = run_saksi(
        "results",
        "import",
        election_dir,
        write_csv(tmp_path / "all.csv", RESULTS_HEADER, rows),
        "--source",
        "situng",
        check=False,
    )
    assert_user_error(result, "line 1401", f"TPS {late}", "already has a PPWP form")
    assert snapshot(election_dir) == before
    assert tally_json(election_dir, "--source", "situng")["tps_reported"] == 1
