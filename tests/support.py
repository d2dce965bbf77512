"""Helpers that keep tests short: run the CLI in a subprocess and read its JSON."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from saksi.election.election import Election
from saksi.manifest.load import load_manifest
from saksi.registry.pemilu2019 import read_pemilu2019

__all__ = [
    "EXAMPLE_MANIFEST",
    "TPS_HEADER",
    "free_port",
    "pemilu2019_election",
    "run_saksi",
    "serving",
    "serving_witness",
    "tally_json",
    "tps_csv",
]

EXAMPLE_MANIFEST = Path(__file__).resolve().parents[1] / "src/saksi/examples/pemilu2019.toml"
TPS_HEADER = "tps_id,provinsi,kabupaten_kota,kecamatan,desa_kelurahan,desa_id,tps_no,dpt\n"


def tps_csv(
    path: Path,
    desas: int,
    per_desa: int,
    *,
    kabupaten: int = 3,
    kecamatan: int = 5,
    province: Callable[[int], str] = lambda desa: "BALI",
) -> Path:
    """A 2019-format tps.csv: desas 1..N, each with TPS "<desa>-001".. and DPT 200."""
    rows = [
        f"{d}-{t:03d},{province(d)},KAB {d % kabupaten},KEC {d % kecamatan},DESA {d},{d},{t},200\n"
        for d in range(1, desas + 1)
        for t in range(1, per_desa + 1)
    ]
    path.write_text(TPS_HEADER + "".join(rows))
    return path


def pemilu2019_election(
    folder: Path, tps: Path | None = None, store: str | None = None
) -> Election:
    """A new election under the 2019 example's manifest, with ``tps`` as its registry."""
    election = Election.create(folder, load_manifest(EXAMPLE_MANIFEST), store=store)
    if tps is not None:
        election.import_registry(read_pemilu2019(tps))
    return election


def run_saksi(*args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run `python -m saksi ARGS` as a user would; fail the test on an unexpected exit."""
    result = subprocess.run(
        [sys.executable, "-m", "saksi", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"saksi {' '.join(map(str, args))} exited {result.returncode}\n{result.stderr}"
        )
    return result


def tally_json(election_dir: Path, *args: str) -> dict[str, Any]:
    out = run_saksi("tally", election_dir, *args, "--json").stdout
    value: dict[str, Any] = json.loads(out)
    return value


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serving(command: list[str], port: int, what: str, stderr: Any = None) -> Iterator[None]:
    """Run a server on loopback ``port`` until the block ends, once it accepts connections."""
    server = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=stderr or subprocess.DEVNULL
    )
    try:
        # Opening an election replays its record first: the 2019 example takes about 15 s
        # on an idle 2-core machine, far more while the rest of the suite runs beside it.
        # Start-up speed is not what these tests check, so the wait is generous.
        deadline = time.monotonic() + 90
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                assert server.poll() is None, f"the {what} exited"
                assert time.monotonic() < deadline, f"the {what} did not start"
                time.sleep(0.05)
        yield
    finally:
        server.terminate()
        server.wait(timeout=20)


@contextmanager
def serving_election(folder: Path, *extra: str) -> Iterator[str]:
    """Run `saksi serve FOLDER` on loopback until the block ends; yields its URL."""
    port = free_port()
    command = [sys.executable, "-m", "saksi", "serve", str(folder), "--port", str(port), *extra]
    with serving(command, port, "saksi server"):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def serving_witness(folder: Path, port: int | None = None) -> Iterator[str]:
    """Run `saksi witness serve` on loopback until the block ends; yields its URL."""
    port = port or free_port()
    command = [sys.executable, "-m", "saksi", "witness", "serve", str(folder), "--port", str(port)]
    with serving(command, port, "witness server"):
        yield f"http://127.0.0.1:{port}"
