"""Helpers that keep tests short: run the CLI in a subprocess and read its JSON."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["free_port", "run_saksi", "serving_witness", "tally_json"]


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
def serving_witness(folder: Path, port: int | None = None) -> Iterator[str]:
    """Run `saksi witness serve` on loopback until the block ends; yields its URL."""
    port = port or free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "saksi", "witness", "serve", str(folder), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                assert server.poll() is None, "the witness server exited"
                assert time.monotonic() < deadline, "the witness server did not start"
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=20)
