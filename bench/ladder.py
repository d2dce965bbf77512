"""Ladder benchmark: the recapitulation ladder of the synthetic election, at any size.

Usage: .venv/bin/python bench/ladder.py [--provinces 35] [--keep DIR]

Setup, not timed: `saksi example synthetic --ladder` (the example's planted TPS
anomalies, no photos) builds the election, then the ladder: a recap body key for every kecamatan,
kabupaten/kota, provinsi and the national level, a re-vote, and recap forms signed
bottom-up with an inflated, a deflated and a copied row planted.

Timed, each in the same run:
  - the ladder check: every difference of every current recap form
    (saksi.ladder.report.all_differences), and, as its baseline, reading every tally row
    of the contest from the store (the check's input);
  - one region's ladder view (the national one: 39 rows), as the API builds it;
  - publication of public/ (totals, flags, ladder files, log) and, as its baseline, the
    same publication's totals alone;
  - `saksi verify` of public/ with the log's key, which recomputes every ladder
    difference from its own replay.
--keep DIR builds into DIR once and reuses it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "pemilu2024"
SAKSI = [sys.executable, "-m", "saksi"]


def timed(label: str, seconds: float, extra: str = "") -> None:
    print(f"[ladder] {label}: {seconds:.2f} s{extra}", flush=True)


def build(folder: Path, provinces: str) -> None:
    args = ["example", "synthetic", str(folder), "--data", str(DATA), "--photos", "0"]
    if provinces:
        args += ["--provinces", provinces]
    start = time.perf_counter()
    subprocess.run([*SAKSI, *args, "--ladder"], check=True, stdout=subprocess.DEVNULL)
    timed("setup (not part of any figure): election and ladder built", time.perf_counter() - start)


def measure_check(folder: Path) -> None:
    from saksi.cli.readonly import open_store_readonly
    from saksi.ladder.report import all_differences, current_recaps, region_ladder

    with open_store_readonly(folder) as store:
        start = time.perf_counter()
        rows = store.query("SELECT counts FROM tally WHERE contest = 'PPWP'")
        decoded = [json.loads(r[0]) for r in rows]
        baseline = time.perf_counter() - start
        recaps = current_recaps(store, "PPWP")
        start = time.perf_counter()
        found = all_differences(store, "PPWP")
        check = time.perf_counter() - start
        start = time.perf_counter()
        region_ladder(store, "ID", "PPWP")
        view = time.perf_counter() - start
    rows_checked = sum(len(r.recap.rows) for r in recaps.values())
    timed(
        "ladder check, every difference",
        check,
        f" ({len(recaps):,} recap forms, {rows_checked:,} rows, {len(found):,} differences)",
    )
    timed("baseline: read and decode every tally row of the contest", baseline,
          f" ({len(decoded):,} rows)")  # fmt: skip
    print(f"[ladder] ratio check/baseline: {check / baseline:.2f}")
    timed("national ladder view (region_ladder ID)", view)


def measure_publish_and_verify(folder: Path) -> None:
    from saksi.election.election import Election

    with Election.open(folder) as election:
        start = time.perf_counter()
        election.publish_log()
        publish = time.perf_counter() - start
        vkey = election.log_signer().verifier.vkey()
    ladder_files = len(list((folder / "public" / "ladder").rglob("*.json")))
    timed(
        "publication (totals, flags, ladder files, log)",
        publish,
        f" ({ladder_files:,} ladder files)",
    )
    start = time.perf_counter()
    out = subprocess.run(
        [*SAKSI, "verify", str(folder / "public"), "--vkey", vkey, "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    report = json.loads(out.stdout)
    timed(
        "saksi verify",
        seconds,
        f" ok={report['ok']}, {report['recap_forms_checked']:,} recap forms, "
        f"{report['ladder_checked']:,} ladder files, "
        f"{report['ladder_differences_checked']:,} differences, "
        f"{report['totals_checked']:,} totals",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--provinces", default="35", help="comma-separated provinsi, or ''")
    parser.add_argument("--keep", type=Path, help="build into this folder once and reuse it")
    args = parser.parse_args()
    scratch = None if args.keep else Path(tempfile.mkdtemp(prefix="saksi-ladder-"))
    folder = (args.keep or scratch or Path()) / "election"
    try:
        if not folder.exists():
            build(folder, args.provinces)
        measure_check(folder)
        measure_publish_and_verify(folder)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
