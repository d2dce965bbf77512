"""Read published totals from the projection store (what `saksi tally` prints)."""

from __future__ import annotations

import json
from typing import Any

from saksi.errors import SaksiError
from saksi.store.base import Store
from saksi.tally.counters import TallyLayout

__all__ = [
    "default_contest",
    "default_source",
    "layout",
    "region_totals",
    "report_json",
    "tally_report",
]


def default_contest(store: Store) -> str:
    rows = store.query("SELECT id FROM contests ORDER BY position")
    if not rows:
        raise SaksiError("the election has no contests recorded")
    return str(rows[0][0])


def default_source(store: Store) -> str:
    rows = store.query("SELECT id FROM sources WHERE kind = 'official' ORDER BY id")
    if not rows:
        raise SaksiError("the election has no official source recorded")
    return str(rows[0][0])


def layout(store: Store, contest: str, source: str) -> TallyLayout:
    """How the counts of a tally row are laid out for this contest and source."""
    rows = store.query(
        "SELECT choices, fields FROM tally_layouts WHERE contest = ? AND source = ?",
        (contest, source),
    )
    if not rows:
        raise SaksiError(f"no tally is kept for contest {contest} and source {source}")
    choices, fields = (str(v) for v in rows[0])
    return TallyLayout([c for c in choices.split(",") if c], [f for f in fields.split(",") if f])


def region_totals(store: Store, contest: str, region: str) -> tuple[int, int]:
    """TPS and DPT of the region that the contest covers (all, or those in its dapils)."""
    rows = store.query(
        "SELECT tps_total, dpt_total FROM region_totals WHERE contest = ? AND region = ?",
        (contest, region),
    )
    return (int(rows[0][0]), int(rows[0][1])) if rows else (0, 0)


def tally_report(
    store: Store, *, region: str | None, contest: str | None, source: str | None
) -> dict[str, Any]:
    """The figures for one region, contest and source, with the record size they reflect."""
    region_id = region or "ID"
    found = store.query("SELECT id, name, level FROM regions WHERE id = ?", (region_id,))
    if not found:
        raise SaksiError(f"region {region_id} is not registered in this election")
    contest_id = contest or default_contest(store)
    if not store.query("SELECT 1 FROM contests WHERE id = ?", (contest_id,)):
        raise SaksiError(f"contest {contest_id} is not part of this election")
    source_id = source or default_source(store)
    if not store.query("SELECT 1 FROM sources WHERE id = ?", (source_id,)):
        raise SaksiError(f"source {source_id} is not part of this election")
    rows = store.query(
        "SELECT counts FROM tally WHERE contest = ? AND source = ? AND region = ?",
        (contest_id, source_id, region_id),
    )
    shape = layout(store, contest_id, source_id)
    counts = json.loads(rows[0][0]) if rows else [0] * shape.width
    rid, name, level = found[0]
    return report_json(
        (rid, name, level),
        contest_id,
        source_id,
        store.log_size(),
        shape.to_json(counts),
        region_totals(store, contest_id, region_id),
    )


def report_json(
    region: tuple[str, str, str],
    contest: str,
    source: str,
    log_size: int,
    figures: dict[str, Any],
    totals: tuple[int, int],
) -> dict[str, Any]:
    """The `tally --json` document: one region (id, name, level), contest and source."""
    rid, name, level = region
    return {
        "region": {"id": rid, "name": name, "level": level},
        "contest": contest,
        "source": source,
        "log_size": log_size,
        **figures,
        "tps_total": totals[0],
        "dpt_total": totals[1],
    }
