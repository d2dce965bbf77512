"""totals/CONTEST/SOURCE/REGION.json: one `saksi tally --json` document per region,
contest and source that has any form, each stating the log_size it reflects."""

from __future__ import annotations

import json
import re
from typing import Any

from saksi.errors import SaksiError
from saksi.publication.files import PublicFiles
from saksi.store.base import Store
from saksi.tally.counters import TallyLayout
from saksi.tally.query import report_json

__all__ = ["TotalsWriter", "document_bytes", "safe_name"]

_SAFE = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$")


def safe_name(value: str) -> str:
    """An id used as a path segment: letters, digits, ".", "_" and "-", not leading "."."""
    if not _SAFE.fullmatch(value):
        raise SaksiError(f"{value!r} cannot name a published file")
    return value


def document_bytes(doc: dict[str, Any]) -> bytes:
    return (json.dumps(doc, ensure_ascii=False, sort_keys=True) + "\n").encode()


class TotalsWriter:
    """Writes the totals files whose figures changed since it last looked."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[str, tuple[int, int]]] = {}

    def write(self, store: Store, files: PublicFiles, log_size: int) -> int:
        regions = {
            str(rid): (str(rid), str(name), str(level))
            for rid, name, level in store.query("SELECT id, name, level FROM regions")
        }
        totals = {
            (str(c), str(r)): (int(t), int(d))
            for c, r, t, d in store.query(
                "SELECT contest, region, tps_total, dpt_total FROM region_totals"
            )
        }
        layouts = {
            (str(c), str(s)): TallyLayout(
                [x for x in str(ch).split(",") if x], [x for x in str(f).split(",") if x]
            )
            for c, s, ch, f in store.query(
                "SELECT contest, source, choices, fields FROM tally_layouts"
            )
        }
        written = 0
        for contest, source, region, counts in store.query(
            "SELECT contest, source, region, counts FROM tally ORDER BY contest, source, region"
        ):
            path = f"totals/{safe_name(contest)}/{safe_name(source)}/{safe_name(region)}.json"
            region_total = totals.get((contest, region), (0, 0))
            key = (str(counts), region_total)
            if self._seen.get(path) == key:
                continue
            self._seen[path] = key
            figures = layouts[(contest, source)].to_json(json.loads(counts))
            place = regions[region]

            def make(
                size: int,
                where: tuple[str, str, str] = place,
                what: tuple[str, str] = (contest, source),
                shown: dict[str, Any] = figures,
                total: tuple[int, int] = region_total,
            ) -> bytes:
                return document_bytes(report_json(where, *what, size, shown, total))

            written += files.put_unless_same(path, make, log_size)
        return written
