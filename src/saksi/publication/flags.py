"""flags/CONTEST/SOURCE.json: every current form that a consistency rule flags."""

from __future__ import annotations

from typing import Any

from saksi.publication.files import PublicFiles
from saksi.publication.totals import document_bytes, safe_name
from saksi.store.base import Store

__all__ = ["write_flags"]


def write_flags(store: Store, files: PublicFiles, log_size: int) -> int:
    """One file per contest and source, rewritten only when its list of flags changed."""
    written = 0
    contests = [str(r[0]) for r in store.query("SELECT id FROM contests ORDER BY position")]
    sources = [str(r[0]) for r in store.query("SELECT id FROM sources ORDER BY id")]
    for contest in contests:
        for source in sources:
            rows = store.query(
                "SELECT tps, seq, flags FROM forms WHERE contest = ? AND source = ? "
                "AND is_current = 1 AND flags <> '' ORDER BY tps",
                (contest, source),
            )
            flagged = [
                {"leaf_index": int(seq), "rules": str(flags).split(","), "tps_id": str(tps)}
                for tps, seq, flags in rows
            ]

            def make(
                size: int, c: str = contest, s: str = source, items: list[Any] = flagged
            ) -> bytes:
                return document_bytes({"contest": c, "flags": items, "log_size": size, "source": s})

            path = f"flags/{safe_name(contest)}/{safe_name(source)}.json"
            written += files.put_unless_same(path, make, log_size)
    return written
