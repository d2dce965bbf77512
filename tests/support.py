"""Helpers that keep tests short: run the CLI in a subprocess and read its JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["run_saksi", "tally_json"]


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
