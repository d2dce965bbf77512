"""Exports: one CSV row per TPS form, and per-region totals as CSV and JSON."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from saksi.ingest.rules import RULE_IDS
from saksi.store.base import Store
from saksi.tally.query import layout, region_totals

__all__ = ["export_regions", "export_tps"]


def _choices(store: Store, contest: str) -> list[str]:
    rows = store.query(
        "SELECT id, MIN(position) FROM choices WHERE contest = ? GROUP BY id ORDER BY 2, 1",
        (contest,),
    )
    return [str(r[0]) for r in rows]


def _fields(store: Store, source: str) -> list[str]:
    rows = store.query("SELECT fields FROM sources WHERE id = ?", (source,))
    return [f for f in str(rows[0][0]).split(",") if f] if rows else []


def export_tps(store: Store, contest: str, source: str, path: Path) -> int:
    """Current form of every TPS for a contest and source; empty cells are absent fields."""
    choices, fields = _choices(store, contest), _fields(store, source)
    rows = store.query(
        "SELECT tps, payload, flags, payload_hash, seq FROM forms "
        "WHERE contest = ? AND source = ? AND is_current = 1 ORDER BY tps",
        (contest, source),
    )
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(
            [
                "tps_id",
                *(f"choice_{c}" for c in choices),
                *fields,
                "flags",
                "payload_hash",
                "leaf_index",
            ]
        )
        for tps, payload_json, flags, payload_hash, seq in rows:
            payload = json.loads(payload_json)
            votes, values = payload["votes"], payload["fields"]
            writer.writerow(
                [
                    tps,
                    *(votes.get(c, "") for c in choices),
                    *(values.get(f, "") for f in fields),
                    flags,
                    payload_hash,
                    seq,
                ]
            )
    return len(rows)


def export_regions(store: Store, contest: str, source: str, csv_path: Path, json_path: Path) -> int:
    """Totals of every region that has any form, ordered by region id."""
    choices, fields = _choices(store, contest), _fields(store, source)
    rows = store.query(
        "SELECT r.id, r.parent, r.level, r.name, t.counts FROM tally t JOIN regions r "
        "ON r.id = t.region WHERE t.contest = ? AND t.source = ? ORDER BY r.id",
        (contest, source),
    )
    records = []
    shape = layout(store, contest, source)
    for rid, parent, level, name, counts in rows:
        figures = shape.to_json(json.loads(counts))
        tps_total, dpt_total = region_totals(store, contest, rid)
        records.append(
            {
                "id": rid,
                "parent": parent,
                "level": level,
                "name": name,
                **figures,
                "tps_total": tps_total,
                "dpt_total": dpt_total,
            }
        )
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(
            [
                "region_id",
                "parent",
                "level",
                "name",
                *(f"choice_{c}" for c in choices),
                *fields,
                "dpt",
                "tps_reported",
                "tps_total",
                *(f"flag_{r}" for r in RULE_IDS),
            ]
        )
        for rec in records:
            writer.writerow(
                [
                    rec["id"],
                    rec["parent"] or "",
                    rec["level"],
                    rec["name"],
                    *(rec["choices"].get(c, 0) for c in choices),
                    *(rec["fields"].get(f, 0) for f in fields),
                    rec["dpt"],
                    rec["tps_reported"],
                    rec["tps_total"],
                    *(rec["flagged_tps"].get(r, 0) for r in RULE_IDS),
                ]
            )
    json_path.write_text(
        json.dumps(
            {
                "contest": contest,
                "source": source,
                "log_size": store.log_size(),
                "regions": records,
            },
            ensure_ascii=False,
            indent=1,
        )
        + "\n",
        encoding="utf-8",
    )
    return len(records)
