"""Import a results CSV for one source: check every row first, then record it all."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from saksi.election.election import Election, ImportSummary
from saksi.errors import RejectedEntry
from saksi.ingest.csv_import import (
    MAX_ERRORS_SHOWN,
    check_results_csv,
    read_results_csv,
    resolve_contest,
)

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
    _rows, errors = check_results_csv(path, manifest, chosen, source, election.state.check_form)
    if errors:
        shown = "\n  ".join(errors[:MAX_ERRORS_SHOWN])
        more = len(errors) - MAX_ERRORS_SHOWN
        tail = f"\n  … and {more} more" if more > 0 else ""
        raise RejectedEntry(
            f"{path.name}: {len(errors)} row(s) refused, nothing was imported:\n  {shown}{tail}"
        )
    signer = election.importer_key(source)
    forms = (form for _, form in read_results_csv(path, manifest, chosen, source))
    return election.import_forms(forms, signer, progress=progress)
