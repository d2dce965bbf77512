"""Ladder differences as forensic flags: each figure of a recap row that differs from the
official TPS forms below it or from the recap form one level down, the largest first.

The ladder check itself is ``saksi.ladder.compare`` (docs/ladder.md); this module words
its differences for a human and gathers them from the store. Differences against the
other sources are left out: a party's or the crowd's copies cover part of the TPS, so
their sums differ from any recap by design.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from saksi.ladder.compare import Difference, ranked
from saksi.ladder.report import all_differences, official_source
from saksi.store.base import Store

__all__ = ["LADDER_RULES", "RULE", "ladder_flags", "store_ladder_flags"]

RULE = "ladder_difference"
LADDER_RULES: dict[str, str] = {
    RULE: "a recap row differs from the official TPS forms below it or from the recap "
    "form one level down",
}

_LEVEL_WORDS = {"kabupaten_kota": "kabupaten/kota", "desa_kelurahan": "desa"}
_FIGURE_WORDS = {"valid": "valid votes", "invalid": "invalid votes", "voters": "voters"}


def _place(region: str, levels: Mapping[str, str], names: Mapping[str, str]) -> str:
    level = levels.get(region, "")
    name = names.get(region)
    words = f"{_LEVEL_WORDS.get(level, level)} {region}".strip()
    return f"{words} ({name})" if name and region != "ID" else words


def _message(d: Difference, levels: Mapping[str, str], names: Mapping[str, str]) -> str:
    """For example: "Rekap kecamatan 510101 (DENPASAR SELATAN), row desa 5101011006
    (SESETAN): votes for 01 are 1,130, 100 more than the official TPS forms below it
    (1,030)"."""
    figure = _FIGURE_WORDS.get(d.figure, f"votes for {d.figure}")
    more = "more" if d.amount > 0 else "less"
    if d.against == "recap":
        below = f"the recap form of {_place(d.row, levels, names)}"
    else:
        below = "the official TPS forms below it"
    return (
        f"Rekap {_place(d.recap_region, levels, names)}, row {_place(d.row, levels, names)}: "
        f"{figure} are {d.recap:,}, {abs(d.amount):,} {more} than {below} ({d.below:,})"
    )


def ladder_flags(
    differences: Iterable[Difference],
    *,
    contest: str,
    official: str,
    levels: Mapping[str, str],
    names: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """One flag per difference against ``official``'s TPS forms or the recap below,
    largest first; ``levels`` and ``names`` give each region's level and name."""
    names = names or {}
    out = []
    for d in ranked(x for x in differences if x.against in (official, "recap")):
        out.append(
            {
                "tps_id": None,  # a recap row sums many TPS: the region links instead
                "contest": contest,
                "source": official,  # the recap forms are the official ladder
                "rule": RULE,
                "message": _message(d, levels, names),
                "detail": d.to_json(),
                **d.to_json(),
                "region_url": f"/region/{d.recap_region}",
                "tps_url": None,
                "photos": [],
            }
        )
    return out


def store_ladder_flags(store: Store, contest: str) -> list[dict[str, Any]]:
    """The ladder flags of the contest's current recap forms (none without a ladder)."""
    official = official_source(store)
    if official is None:
        return []
    found = [d for d in all_differences(store, contest) if d.against in (official, "recap")]
    if not found:
        return []
    regions = sorted({d.recap_region for d in found} | {d.row for d in found})
    levels: dict[str, str] = {}
    names: dict[str, str] = {}
    for first in range(0, len(regions), 500):
        chunk = regions[first : first + 500]
        for region, name, level in store.query(
            f"SELECT id, name, level FROM regions WHERE id IN ({', '.join('?' for _ in chunk)})",
            tuple(chunk),
        ):
            levels[str(region)], names[str(region)] = str(level), str(name)
    return ladder_flags(found, contest=contest, official=official, levels=levels, names=names)
