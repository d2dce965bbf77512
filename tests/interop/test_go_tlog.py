"""Interoperability: Go's checksum-database code accepts Saksi's published log.

tests/interop/go/tlogcheck verifies the checkpoint with golang.org/x/mod/sumdb/note and
rebuilds the root and every tile with sumdb/tlog. It is built offline in GOPATH mode from
Debian's golang-go and golang-golang-x-mod-dev, which scripts/install-system installs.
Without them the tests skip, unless SAKSI_REQUIRE_GO=1 or SAKSI_REQUIRE_POSTGRES=1 (CI).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import DATA, REQUIRE_PG
from saksi.registry.pemilu2019 import read_pemilu2019
from support import pemilu2019_election, run_saksi, tps_csv

REPO = Path(__file__).resolve().parents[2]
SOURCE = Path(__file__).resolve().parent / "go" / "tlogcheck"
GOPATH = Path("/usr/share/gocode")  # where Debian's golang-*-dev packages put sources
REQUIRE_GO = os.environ.get("SAKSI_REQUIRE_GO") == "1" or REQUIRE_PG


@dataclass(frozen=True)
class Log:
    directory: Path  # ELECTION_DIR/public/log
    vkey: str


def _go_unavailable() -> str | None:
    if shutil.which("go") is None:
        return "the go command is not installed (Debian: golang-go; see scripts/install-system)"
    if not (GOPATH / "src" / "golang.org" / "x" / "mod" / "sumdb" / "tlog").is_dir():
        return f"golang.org/x/mod is not under {GOPATH} (Debian: golang-golang-x-mod-dev)"
    return None


@pytest.fixture(scope="session")
def tlogcheck(tmp_path_factory: pytest.TempPathFactory) -> Path:
    reason = _go_unavailable()
    if reason is not None:
        if REQUIRE_GO:
            pytest.fail(f"SAKSI_REQUIRE_GO=1 or SAKSI_REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(reason)
    out = tmp_path_factory.mktemp("go")
    # Inherited GOFLAGS, GOPATH or GO111MODULE would break the offline GOPATH build.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GO")}
    env.update(
        GO111MODULE="off",  # Debian ships x/mod as GOPATH sources, not as a module
        GOPATH=str(GOPATH),
        GOCACHE=str(out / "cache"),
        GOPROXY="off",
        GOENV="off",  # a user's go env file must not turn modules or flags back on
        CGO_ENABLED="0",
    )
    binary = out / "tlogcheck"
    result = subprocess.run(
        ["go", "build", "-o", str(binary), "."],
        cwd=SOURCE,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"go build failed:\n{result.stderr}"
    return binary


def _check(
    binary: Path, log: Log, directory: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(binary), str(directory or log.directory), log.vkey],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _tamper(log: Log, tmp_path: Path, name: str, offset: int) -> Path:
    """A copy of the log with one bit of one byte of file ``name`` flipped."""
    copy = tmp_path / "log"
    shutil.copytree(log.directory, copy)
    path = copy / name
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
    return copy


def _tile_files(log: Path) -> list[str]:
    return sorted(
        p.relative_to(log).as_posix()
        for p in (log / "tile").rglob("*")
        if p.is_file() and p.relative_to(log / "tile").parts[0] != "entries"
    )


@pytest.fixture(scope="module")
def pemilu2019_log(tmp_path_factory: pytest.TempPathFactory) -> Log:
    """The real-size 2019 example: ~114k entries, so tiles at levels 0, 1 and 2."""
    folder = tmp_path_factory.mktemp("pemilu2019") / "e"
    run_saksi("example", "pemilu2019", DATA / "pemilu2019", folder)
    run_saksi("log", "publish", folder)
    vkey = run_saksi("log", "vkey", folder).stdout.strip()
    return Log(folder / "public" / "log", vkey)


@pytest.mark.slow
def test_go_accepts_the_published_log(tlogcheck: Path, pemilu2019_log: Log) -> None:
    result = _check(tlogcheck, pemilu2019_log)
    assert result.returncode == 0, result.stderr
    fields = dict(f.split("=", 1) for f in result.stdout.split()[1:])
    checkpoint = (pemilu2019_log.directory / "checkpoint").read_text().splitlines()
    assert result.stdout.startswith("ok ")
    assert fields["origin"] == checkpoint[0] == pemilu2019_log.vkey.split("+")[0]
    assert fields["size"] == checkpoint[1]
    assert int(fields["size"]) > 65_536
    assert fields["root"] == checkpoint[2]
    tiles = _tile_files(pemilu2019_log.directory)
    assert {name.split("/")[1] for name in tiles} == {"0", "1", "2"}
    assert int(fields["tiles"]) == len(tiles)  # every tile file was recomputed


@pytest.mark.slow
@pytest.mark.parametrize("level", ["0", "1", "2"])
def test_go_rejects_a_flipped_hash_tile(
    tlogcheck: Path, pemilu2019_log: Log, tmp_path: Path, level: str
) -> None:
    name = next(n for n in _tile_files(pemilu2019_log.directory) if n.split("/")[1] == level)
    copy = _tamper(pemilu2019_log, tmp_path, name, offset=5)
    result = _check(tlogcheck, pemilu2019_log, copy)
    assert result.returncode == 1
    problems = result.stderr.splitlines()
    # The entries still give the signed root: only the flipped hash is wrong.
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"tlogcheck: {name}: hash 0 ")


@pytest.mark.slow
def test_go_rejects_a_flipped_entry(tlogcheck: Path, pemilu2019_log: Log, tmp_path: Path) -> None:
    bundle = (pemilu2019_log.directory / "tile" / "entries" / "010").read_bytes()
    length = int.from_bytes(bundle[:2], "big")
    copy = _tamper(pemilu2019_log, tmp_path, "tile/entries/010", offset=2 + length // 2)
    result = _check(tlogcheck, pemilu2019_log, copy)
    assert result.returncode == 1
    assert "tlogcheck: root mismatch: checkpoint says" in result.stderr
    # Entry 2560 no longer hashes to its leaf in the level-0 tile.
    assert "tlogcheck: tile/0/010: hash 0 (tree level 0, node 2560)" in result.stderr


@pytest.mark.slow
def test_go_rejects_a_checkpoint_the_log_key_did_not_sign(
    tlogcheck: Path, pemilu2019_log: Log, tmp_path: Path
) -> None:
    copy = tmp_path / "log"
    shutil.copytree(pemilu2019_log.directory, copy)
    lines = (copy / "checkpoint").read_text().split("\n")
    lines[1] = str(int(lines[1]) - 1)
    (copy / "checkpoint").write_text("\n".join(lines))
    result = _check(tlogcheck, pemilu2019_log, copy)
    assert result.returncode == 1
    assert "checkpoint signature: invalid signature" in result.stderr


def test_go_accepts_partial_tiles_left_by_earlier_checkpoints(
    tlogcheck: Path, tmp_path: Path
) -> None:
    """Each checkpoint leaves its partial tiles and bundles; they must be prefixes."""
    desas = list(read_pemilu2019(tps_csv(tmp_path / "tps.csv", 1200, 2)))
    folder = tmp_path / "e"
    with pemilu2019_election(folder) as election:
        for start in range(0, len(desas), 300):
            election.import_registry(desas[start : start + 300])
            election.publish_log()
    log = Log(folder / "public" / "log", run_saksi("log", "vkey", folder).stdout.strip())
    tiles = _tile_files(log.directory)
    assert sum(".p/" in name for name in tiles if name.startswith("tile/0/")) > 1
    assert sum(".p/" in name for name in tiles if name.startswith("tile/1/")) > 1
    result = _check(tlogcheck, log)
    assert result.returncode == 0, result.stderr
    assert int(dict(f.split("=", 1) for f in result.stdout.split()[1:])["tiles"]) == len(tiles)
    size = int((log.directory / "checkpoint").read_text().splitlines()[1])
    current = f"tile/1/000.p/{size // 256}"
    stale = next(n for n in tiles if n.startswith("tile/1/") and n != current)
    result = _check(tlogcheck, log, _tamper(log, tmp_path, stale, offset=0))
    assert result.returncode == 1
    assert f"tlogcheck: {stale}: hash 0" in result.stderr
