"""The ladder check, as pure functions: each recap row against the figures below it.

A row of region R's recap form, for child region C, is compared with (a) the sum of
C's TPS forms, per source, and (b) the total of C's own recap form where C holds one
(docs/ladder.md). A difference is recap minus below: positive means the votes grew on
the way up (*suara menggelembung*).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from saksi.ladder.recap import FIGURES, Recap, RecapRow

__all__ = ["Difference", "differences", "ranked", "recap_total", "tally_figures"]


@dataclass(frozen=True, slots=True)
class Difference:
    """One figure of one recap row that differs from what was signed below it."""

    recap_region: str  # the region whose recap form holds the row
    row: str  # the child region the row is about
    figure: str  # a choice id, or valid, invalid, voters
    recap: int
    below: int
    against: str  # "recap" (the child's own recap form) or a source id (its TPS forms)

    @property
    def amount(self) -> int:
        return self.recap - self.below

    @property
    def direction(self) -> str:
        return "up" if self.amount > 0 else "down"

    def to_json(self) -> dict[str, Any]:
        return {
            "recap_region": self.recap_region,
            "row": self.row,
            "figure": self.figure,
            "recap": self.recap,
            "below": self.below,
            "amount": self.amount,
            "direction": self.direction,
            "against": self.against,
        }


def recap_total(recap: Recap) -> dict[str, int]:
    """The sum of a recap form's rows: what it carries one level up."""
    total: dict[str, int] = {}
    for row in recap.rows:
        for figure, value in row.figures().items():
            total[figure] = total.get(figure, 0) + value
    return total


def tally_figures(figures: Mapping[str, Any]) -> dict[str, int]:
    """A `tally --json` document's figures under the recap row's names; absent ones left out."""
    out = {c: int(v) for c, v in figures.get("choices", {}).items()}
    for name in FIGURES:
        value = figures.get(name)
        if value is not None:
            out[name] = int(value)
    return out


def differences(
    recap_region: str,
    row: RecapRow,
    below: Mapping[str, int],
    against: str,
) -> list[Difference]:
    """The figures of ``row`` that differ from ``below``; a figure ``below`` lacks is skipped."""
    out = []
    for figure, value in row.figures().items():
        other = below.get(figure)
        if other is not None and other != value:
            out.append(Difference(recap_region, row.region, figure, value, other, against))
    return out


def ranked(found: Iterable[Difference]) -> list[Difference]:
    """Largest first, then by place, so the same record always lists them the same way."""
    return sorted(found, key=lambda d: (-abs(d.amount), d.recap_region, d.row, d.figure, d.against))
