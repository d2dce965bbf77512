"""Log benchmark: publish the synthetic national election's record as a tlog-tiles log.

Usage: .venv/bin/python bench/log.py [--provinces 31,32]

Setup, not timed: the synthetic election (registry, keys and the official form of every
TPS) is built into a fresh election folder through the real import path. Timed: a new
publisher reads the whole record, builds the Merkle tree, writes every hash tile, partial
tile and entry bundle, and signs a checkpoint. Baseline, in the same run: SHA-256 of every
entry with hashlib alone (the leaf hashes, nothing else).

Then the publication folder: a first publication of public/ (a totals file per region,
the flags, the index) is timed against writing the same bytes to as many plain files
with open() and one os.sync(), in the same run.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from ingest import DATA, GENERATE  # noqa: E402  (the benchmark scripts share the generator)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--provinces", default="", help="comma-separated provinsi codes")
    args = parser.parse_args()
    from saksi.election.election import Election
    from saksi.examples.synthetic_election import synthetic_manifest
    from saksi.ingest.import_file import import_results_file
    from saksi.log.publish import LogPublisher
    from saksi.registry.kpu2024 import read_dpt_file, read_kpu2024

    with tempfile.TemporaryDirectory(prefix="saksi-bench-log-") as tmp:
        work = Path(tmp)
        files = work / "files"
        subprocess.run(
            [sys.executable, "-c", GENERATE, str(DATA), str(files), args.provinces], check=True
        )
        election = Election.create(work / "e", synthetic_manifest())
        election.import_registry(read_kpu2024(DATA, read_dpt_file(files / "dpt.csv")))
        import_results_file(election, files / "results-kpps.csv", source="kpps")
        size = len(election.record)
        start = time.perf_counter()
        digests = [hashlib.sha256(b"\x00" + e).digest() for e in election.record.iter_from(0)]
        base = time.perf_counter() - start
        assert len(digests) == size
        publisher = LogPublisher(
            work / "e" / "public" / "log", work / "state.json", election.log_signer()
        )
        start = time.perf_counter()
        checkpoint = publisher.publish(election.record)
        seconds = time.perf_counter() - start
        published = _publication(election, work)
        election.close()
        files_written = sum(1 for p in (work / "e" / "public" / "log").rglob("*") if p.is_file())
        print(
            f"log: {checkpoint.size:,} entries, {files_written:,} files, signed checkpoint "
            f"in {seconds:.2f} s"
        )
        print(f"baseline hashlib SHA-256 of the same {size:,} entries: {base:.2f} s")
        print(f"ratio publish/baseline: {seconds / base:.2f}")
        print(f"target (<= 10 s): {'PASS' if seconds <= 10 else 'FAIL'}")
        count, publish_s, plain_s = published
        print(f"publication: {count:,} files (totals, flags, index) in {publish_s:.2f} s")
        print(f"baseline open/write of the same {count:,} files and os.sync: {plain_s:.2f} s")
        print(f"ratio publication/baseline: {publish_s / plain_s:.2f}")


def _publication(election: Any, work: Path) -> tuple[int, float, float]:
    from saksi.publication.publisher import Publisher

    election.flush()
    publisher = Publisher(work / "e" / "public", work / "e" / "photos", election.election_id)
    start = time.perf_counter()
    summary = publisher.publish(election.store, election.state.size, exports=False)
    seconds = time.perf_counter() - start
    public = work / "e" / "public"
    blobs = [(public / path).read_bytes() for path in summary.index.files]
    blobs.append((public / "index.json").read_bytes())
    plain = work / "plain"
    plain.mkdir()
    start = time.perf_counter()
    for number, data in enumerate(blobs):
        with open(plain / f"{number}.json", "wb") as handle:
            handle.write(data)
    os.sync()
    return len(blobs), seconds, time.perf_counter() - start


if __name__ == "__main__":
    main()
