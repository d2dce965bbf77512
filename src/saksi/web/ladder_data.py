"""The data of the ladder and trail pages: the API's ladder documents with what a page
needs besides (names, the path from the national root, the ballot), and their CSV rows."""

from __future__ import annotations

from typing import Any

import orjson

from saksi.api.documents import Documents, region_path
from saksi.api.ladder import ladder_data, trail_data
from saksi.ladder.recap import FIGURES
from saksi.store.base import Store
from saksi.web.page_data import election_choices

__all__ = ["ladder_page", "ladder_rows", "region_differences", "trail_page", "trail_rows"]


def _choice_ids(store: Store, contest: str) -> list[dict[str, str]]:
    rows = store.query(
        "SELECT id, MIN(name) FROM choices WHERE contest = ? GROUP BY id "
        "ORDER BY MIN(position), id",
        (contest,),
    )
    return [{"id": str(i), "name": str(n)} for i, n in rows]


def _names(store: Store, ids: set[str]) -> dict[str, str]:
    wanted = sorted(ids)
    names: dict[str, str] = {}
    for first in range(0, len(wanted), 500):
        chunk = wanted[first : first + 500]
        marks = ", ".join("?" for _ in chunk)
        names.update(
            (str(i), str(n))
            for i, n in store.query(
                f"SELECT id, name FROM regions WHERE id IN ({marks})", tuple(chunk)
            )
        )
    return names


def region_differences(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """The region's own line: the row of the recap above against this region's own recap
    total and each source's TPS sum (recap minus below, as saksi.ladder.compare counts)."""
    recap = figures.get("recap")
    if not recap:
        return []
    below: list[tuple[str, dict[str, int]]] = []
    if figures.get("own_recap"):
        below.append(("recap", figures["own_recap"]))
    # A source is compared only where it covers every TPS below, as in the ladder check.
    coverage = figures.get("tps_coverage", {})
    below.extend(
        (source, values)
        for source, values in sorted(figures.get("tps", {}).items())
        if source not in coverage or coverage[source]["reported"] >= coverage[source]["total"]
    )
    found = []
    for against, values in below:
        for figure, value in recap.items():
            other = values.get(figure)
            if other is not None and other != value:
                found.append(
                    {
                        "figure": figure,
                        "recap": value,
                        "below": other,
                        "amount": value - other,
                        "direction": "up" if value > other else "down",
                        "against": against,
                    }
                )
    return found


def _partial(coverage: dict[str, dict[str, int]]) -> list[str]:
    return sorted(s for s, c in coverage.items() if c["reported"] < c["total"])


def partial_sources(document: dict[str, Any]) -> dict[str, list[str]]:
    """Region -> the sources whose TPS sum there is partial: shown, never compared."""
    found = {document["region"]["id"]: _partial(document["figures"].get("tps_coverage", {}))}
    for row in document["rows"]:
        found[row["region"]["id"]] = _partial(row.get("tps_coverage", {}))
    return {region: sources for region, sources in found.items() if sources}


def ladder_page(
    store: Store, documents: Documents, region: str, contest: str | None
) -> dict[str, Any]:
    """The ladder document of ``GET /api/ladder/{region}.json`` and, for the page: the
    path, the ballot's choices, the sources, and the region's own differences."""
    prepared = documents.within(store, *ladder_data(region, contest))
    document: dict[str, Any] = orjson.loads(prepared.body)
    choices = election_choices(store)
    recap_region = document["figures"].get("recap_region")
    return {
        "page": "ladder",
        **document,
        "path": region_path(store, region),
        "recap_region_name": _names(store, {recap_region}).get(recap_region)
        if recap_region
        else None,
        "choice_names": _choice_ids(store, document["contest"]),
        "region_differences": region_differences(document["figures"]),
        "partial_sources": partial_sources(document),
        "contests": choices["contests"],
        "sources": choices["sources"],
    }


def trail_page(
    store: Store, documents: Documents, tps_id: str, choice: str | None, contest: str | None
) -> dict[str, Any]:
    """The trail of ``GET /api/ladder/trail/{tps_id}.json`` with each step's region name."""
    prepared = documents.within(store, *trail_data(tps_id, choice, contest))
    document: dict[str, Any] = orjson.loads(prepared.body)
    number = store.query("SELECT number, desa FROM tps WHERE id = ?", (tps_id,))
    places = {s["where"] for s in document["steps"]} | {
        s["row"] for s in document["steps"] if "row" in s
    }
    return {
        "page": "trail",
        **document,
        "number": int(number[0][0]) if number else None,
        "regions": region_path(store, str(number[0][1])) if number else [],
        "names": _names(store, places),
        "choice_names": _choice_ids(store, document["contest"]),
        "other_figures": list(FIGURES),
        "contests": election_choices(store)["contests"],
    }


def _signed(amount: int) -> str:
    return f"{amount:+d}"


def ladder_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    """One CSV row per figure of the region itself (``kind`` region: the row of the recap
    above, this region's own recap total, each source's TPS sum) and per figure of each
    row of its recap form (``kind`` row); ``differences`` lists ``against:amount``."""
    figures = [c["id"] for c in document["choice_names"]] + list(FIGURES)
    sources = [s["id"] for s in document["sources"]]
    region = document["region"]
    own = document["figures"]
    rows: list[dict[str, Any]] = []

    def line(
        kind: str,
        place: dict[str, Any],
        recap: dict[str, int] | None,
        below: dict[str, int] | None,
        tps: dict[str, dict[str, int]],
        found: list[dict[str, Any]],
    ) -> None:
        for figure in figures:
            row: dict[str, Any] = {
                "kind": kind,
                "region_id": place["id"],
                "region_name": place["name"],
                "figure": figure,
                "recap": (recap or {}).get(figure),
                "recap_below": (below or {}).get(figure),
            }
            for source in sources:
                row["tps_" + source] = tps.get(source, {}).get(figure)
            row["differences"] = " ".join(
                f"{d['against']}:{_signed(d['amount'])}" for d in found if d["figure"] == figure
            )
            rows.append(row)

    line(
        "region", region, own["recap"], own["own_recap"], own["tps"], document["region_differences"]
    )
    for item in document["rows"]:
        line(
            "row",
            item["region"],
            item["recap"],
            item["recap_below"],
            item["tps"],
            item["differences"],
        )
    return rows


def trail_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    """One CSV row per step of the trail, from the TPS up to the national figure."""
    names = document["names"]
    return [
        {
            "tps_id": document["tps"],
            "contest": document["contest"],
            "choice": document["choice"],
            "step": step["step"],
            "region_id": step["where"],
            "region_name": names.get(step["where"], ""),
            "row": step.get("row", ""),
            "value": step["value"],
            "change": step["change"],
        }
        for step in document["steps"]
    ]
