"""Import a results CSV for one source: check every row first, then record it all."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from saksi.election.bulk import ImportSummary, import_columns, refusal, screen
from saksi.election.election import Election
from saksi.election.workers import worker_pool
from saksi.ingest.csv_import import columns_from_csv, resolve_contest

__all__ = ["import_results_file"]


def import_results_file(
    election: Election,
    path: Path,
    *,
    source: str,
    contest: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """All rows or none: any hard error is reported with its line and nothing is stored."""
    manifest = election.manifest
    chosen = resolve_contest(manifest, contest)
    election.wait_for_writer()  # no thread may hold a lock while the workers fork
    with worker_pool() as pool:
        columns = columns_from_csv(path, manifest, chosen, source, pool=pool)
        # Enrolling the importer key is itself a record entry: refuse a bad file first.
        screened = screen(election.state, columns)
        if screened.errors:
            raise refusal(path.name, screened.errors)
        signer = election.importer_key(source)
        return import_columns(
            election,
            columns,
            signer,
            name=path.name,
            progress=progress,
            screened=screened,
            pool=pool,
        )
