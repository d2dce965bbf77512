"""Ingest benchmark: the synthetic national PPWP election through the real import path.

Usage: .venv/bin/python bench/ingest.py [--backend sqlite|postgres|both] [--provinces 31,32]

A child process generates the election (seeded) and writes the official kpps forms as a
results CSV plus the DPT of every TPS; that part is not timed. This process registers the
KPU 2024 tree with those DPT figures, then times `import_results_file`, which is what
`saksi results import` runs: CSV parsing, every hard check, batch attestations signed and
checked, record append with fsync, rules, tally, and the projection write.

Baseline, measured in the same run: a bare `executemany` of the very rows the import left
in the `forms` table, into an empty table with the projection's own schema, indexes and
pragmas, in one transaction.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "pemilu2024"
PG_URL = os.environ.get("SAKSI_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")

GENERATE = """
import sys
from pathlib import Path
from saksi.examples.synthetic import generate
from saksi.examples.synthetic_election import write_synthetic_files
provinces = tuple(p for p in sys.argv[3].split(",") if p) or None
election = generate(Path(sys.argv[1]), seed=2024, overseas_tps=0, sources=("kpps",),
                    limit_provinces=provinces)
write_synthetic_files(election, Path(sys.argv[2]))
"""


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def baseline_sqlite(rows: list[tuple[object, ...]], work: Path) -> float:
    import sqlite3

    from saksi.store.schema import INSERTS, SCHEMA
    from saksi.store.sqlite import PRAGMAS

    path = work / "baseline.sqlite"
    connection = sqlite3.connect(path)
    for pragma in PRAGMAS:
        connection.execute(pragma)
    for statement in SCHEMA:
        connection.execute(statement)
    connection.commit()
    start = time.perf_counter()
    connection.executemany(INSERTS["forms"], rows)
    connection.commit()
    elapsed = time.perf_counter() - start
    connection.close()
    return elapsed


def baseline_postgres(rows: list[tuple[object, ...]]) -> float:
    import psycopg

    from saksi.store.postgres import PostgresStore
    from saksi.store.schema import INSERTS, SCHEMA

    store = PostgresStore(f"{PG_URL}?saksi_schema=bench_baseline", "bench")
    try:
        store.drop_all()
        for statement in SCHEMA:
            store.execute(statement)
        store.commit()
        start = time.perf_counter()
        with store.connection.cursor() as cursor:
            cursor.executemany(INSERTS["forms"].replace("?", "%s"), rows)
        store.commit()
        elapsed = time.perf_counter() - start
        store.drop_all()
    except psycopg.Error:
        store.rollback()
        raise
    finally:
        store.close()
    return elapsed


def run(backend: str, files: Path, work: Path) -> None:
    from saksi.election.election import Election
    from saksi.examples.synthetic_election import synthetic_manifest
    from saksi.ingest import import_file
    from saksi.registry.kpu2024 import read_dpt_file, read_kpu2024

    store = None if backend == "sqlite" else f"{PG_URL}?saksi_schema=bench_ingest"
    folder = work / f"election-{backend}"
    start = time.perf_counter()
    election = Election.create(folder, synthetic_manifest(), store=store)
    tps = election.import_registry(read_kpu2024(DATA, read_dpt_file(files / "dpt.csv")))
    registry_seconds = time.perf_counter() - start
    gc.collect()
    start = time.perf_counter()
    summary = import_file.import_results_file(election, files / "results-kpps.csv", source="kpps")
    seconds = time.perf_counter() - start
    rows = election.store.query("SELECT * FROM forms ORDER BY seq")
    election.close()
    rss = peak_rss_mib()
    base = baseline_sqlite(rows, work) if backend == "sqlite" else baseline_postgres(rows)
    ratio = seconds / base
    print(f"[{backend}] registry: {tps:,} TPS in {registry_seconds:.1f} s (not timed below)")
    print(
        f"[{backend}] ingest: {summary.recorded:,} forms in {seconds:.2f} s = "
        f"{summary.recorded / seconds:,.0f} forms/s under {summary.attestations} attestations"
    )
    print(f"[{backend}] baseline executemany of the same {len(rows):,} rows: {base:.2f} s")
    print(f"[{backend}] ratio ingest/baseline: {ratio:.2f}")
    print(f"[{backend}] peak RSS of this process so far: {rss:,.0f} MiB")
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"[{backend}] peak RSS of the largest worker process: {workers:,.0f} MiB "
        "(forked; most of it is the parent's memory shared copy-on-write)"
    )
    if backend == "sqlite":
        verdict = "PASS" if seconds <= 30 and ratio <= 3 and rss <= 2048 else "FAIL"
        print(f"[{backend}] targets (<= 30 s, ratio <= 3, RSS <= 2048 MiB): {verdict}")
    shutil.rmtree(folder, ignore_errors=True)
    if store is not None:
        from saksi.store.postgres import PostgresStore

        cleanup = PostgresStore(store, "bench")
        cleanup.drop_all()
        cleanup.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--provinces", default="", help="comma-separated provinsi codes")
    parser.add_argument("--files", type=Path, help="(internal) already generated files")
    args = parser.parse_args()
    if args.files is not None:
        with tempfile.TemporaryDirectory(prefix="saksi-bench-") as tmp:
            run(args.backend, args.files, Path(tmp))
        return
    with tempfile.TemporaryDirectory(prefix="saksi-bench-") as tmp:
        files = Path(tmp) / "files"
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", GENERATE, str(DATA), str(files), args.provinces], check=True
        )
        print(f"generated the election in {time.perf_counter() - start:.1f} s (not timed)")
        backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
        for backend in backends:
            # A fresh process per backend, so each peak RSS is its own.
            subprocess.run(
                [sys.executable, __file__, "--backend", backend, "--files", str(files)],
                check=True,
            )


if __name__ == "__main__":
    main()
