"""Hard checks of the ladder's entries: recap forms, objections, recommendations.

record-format.md sections 6.11 to 6.13. Each message names the region, contest and row
in the words a recap committee uses; a refused entry is stored nowhere.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from saksi.errors import RejectedEntry
from saksi.ingest.validate import MAX_COUNT, MAX_PHOTOS

__all__ = [
    "FIGURES",
    "Objection",
    "Recap",
    "RecapRow",
    "Recommendation",
    "parse_objection",
    "parse_recap",
    "parse_recommendation",
    "recap_from_payload",
]

FIGURES = ("valid", "invalid", "voters")  # a row's totals besides the votes per choice
HEX64 = re.compile(r"^[0-9a-f]{64}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_RECAP_KEYS = frozenset({"contest", "region", "plenary_date", "rows", "photos", "replaces"})
_ROW_KEYS = frozenset({"region", "votes", *FIGURES})


@dataclass(frozen=True, slots=True)
class RecapRow:
    region: str
    votes: dict[str, int]
    valid: int
    invalid: int
    voters: int

    def figures(self) -> dict[str, int]:
        """Every figure of the row: the votes by choice id, then valid, invalid, voters."""
        return {**self.votes, "valid": self.valid, "invalid": self.invalid, "voters": self.voters}


@dataclass(frozen=True, slots=True)
class Recap:
    contest: str
    region: str
    plenary_date: str
    rows: tuple[RecapRow, ...]
    photos: tuple[str, ...]
    replaces: str | None

    def row(self, region: str) -> RecapRow | None:
        return next((r for r in self.rows if r.region == region), None)


@dataclass(frozen=True, slots=True)
class Objection:
    recap: str  # payload hash of the recap form it names
    row: str
    claim: str
    choice: str | None
    claimed: int | None


@dataclass(frozen=True, slots=True)
class Recommendation:
    acts_on: tuple[str, ...]
    text: str
    tps: tuple[str, ...]


def _count(value: Any, what: str) -> int:
    if type(value) is not int or not 0 <= value <= MAX_COUNT:
        raise RejectedEntry(f"{what} must be a whole number from 0, not {value!r}")
    return value


def _text(value: Any, what: str, *, empty: bool = False) -> str:
    if not isinstance(value, str) or (not empty and not value.strip()):
        raise RejectedEntry(f"{what} must be {'a' if empty else 'a non-empty'} text")
    return value


def _hashes(value: Any, what: str) -> tuple[str, ...]:
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(h, str) and HEX64.fullmatch(h) for h in value)
    ):
        raise RejectedEntry(f"{what} must list payload hashes (64 lowercase hex digits)")
    return tuple(value)


def parse_recap(
    raw: Mapping[str, Any],
    *,
    children: Sequence[str],
    choices: frozenset[str] | None,
    all_choices: frozenset[str],
) -> Recap:
    """Check a recap payload; ``children`` are the rows it must have, in order.

    ``choices`` is the exact ballot of every row (a contest without dapils), or None
    when rows may carry any non-empty subset of ``all_choices``.
    """
    region, contest = raw.get("region"), raw.get("contest")
    where = f"recap form of region {region}, contest {contest}"
    unknown = sorted(set(raw) - _RECAP_KEYS)
    if unknown:
        raise RejectedEntry(f"{where}: a recap form has no member(s) {', '.join(unknown)}")
    missing = sorted({"contest", "region", "plenary_date", "rows"} - set(raw))
    if missing:
        raise RejectedEntry(f"{where}: {', '.join(missing)} missing")
    date = raw["plenary_date"]
    try:
        ok = isinstance(date, str) and bool(_DATE.fullmatch(date))
        ok = ok and datetime.date.fromisoformat(date).isoformat() == date
    except ValueError:
        ok = False
    if not ok:
        raise RejectedEntry(f"{where}: plenary_date {date!r} is not a date YYYY-MM-DD")
    photos = raw.get("photos", [])
    if "photos" in raw and (
        not isinstance(photos, list)
        or not 1 <= len(photos) <= MAX_PHOTOS
        or not all(isinstance(p, str) and HEX64.fullmatch(p) for p in photos)
        or len(set(photos)) != len(photos)  # only strings reach here: hashable
    ):
        raise RejectedEntry(f"{where}: photos must list 1 to {MAX_PHOTOS} distinct SHA-256 hashes")
    replaces = raw.get("replaces")
    if "replaces" in raw and not (isinstance(replaces, str) and HEX64.fullmatch(replaces)):
        raise RejectedEntry(f"{where}: replaces must be a payload hash (64 hex digits)")
    rows = raw["rows"]
    if not isinstance(rows, list):
        raise RejectedEntry(f"{where}: rows must be a list, one per child region")
    named = [r.get("region") if isinstance(r, dict) else None for r in rows]
    if named != list(children):
        extra = sorted(str(n) for n in set(named) - set(children))
        absent = sorted(set(children) - set(named))
        detail = "; ".join(
            part
            for part in (
                f"not a child region with TPS here: {', '.join(extra)}" if extra else "",
                f"missing rows for: {', '.join(absent)}" if absent else "",
            )
            if part
        )
        raise RejectedEntry(
            f"{where}: the rows must be exactly the child regions with TPS, in ascending "
            f"order of id ({detail or 'out of order or repeated'})"
        )
    parsed = []
    for row in rows:
        at = f"{where}, row {row['region']}"
        if set(row) != _ROW_KEYS:
            raise RejectedEntry(f"{at}: a row has exactly region, votes, valid, invalid, voters")
        votes = row["votes"]
        if not isinstance(votes, dict) or not votes:
            raise RejectedEntry(f"{at}: votes must map choice ids to counts")
        unknown_choices = sorted(set(votes) - all_choices)
        if unknown_choices:
            raise RejectedEntry(
                f"{at}: choice {', '.join(unknown_choices)} is not on the {contest} ballot"
            )
        if choices is not None and set(votes) != choices:
            raise RejectedEntry(
                f"{at}: votes must name every choice on the ballot: {', '.join(sorted(choices))}"
            )
        parsed.append(
            RecapRow(
                region=row["region"],
                votes={c: _count(v, f"{at}, votes for {c}") for c, v in votes.items()},
                valid=_count(row["valid"], f"{at}, valid"),
                invalid=_count(row["invalid"], f"{at}, invalid"),
                voters=_count(row["voters"], f"{at}, voters"),
            )
        )
    return Recap(
        contest=str(contest),
        region=str(region),
        plenary_date=date,
        rows=tuple(parsed),
        photos=tuple(photos),
        replaces=replaces,
    )


def parse_objection(raw: Mapping[str, Any]) -> Objection:
    """Check an objection payload's shape (6.12); the state checks what it names."""
    allowed = {"acts_on", "row", "claim", "legal_basis", "choice", "claimed"}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise RejectedEntry(f"an objection has no member(s) {', '.join(unknown)}")
    acts_on = _hashes(raw.get("acts_on"), "an objection's acts_on")
    if len(acts_on) != 1:
        raise RejectedEntry("an objection names exactly one recap form in acts_on")
    row = raw.get("row")
    if not isinstance(row, str) or not row:
        raise RejectedEntry("an objection must name the row (a region id) it objects to")
    _text(raw.get("legal_basis"), "an objection's legal_basis", empty=True)
    choice = raw.get("choice")
    if choice is not None and not isinstance(choice, str):
        raise RejectedEntry("an objection's choice must be a choice id or valid/invalid/voters")
    claimed = raw.get("claimed")
    return Objection(
        recap=acts_on[0],
        row=row,
        claim=_text(raw.get("claim"), "an objection's claim"),
        choice=choice,
        claimed=None if claimed is None else _count(claimed, "an objection's claimed figure"),
    )


def parse_recommendation(raw: Mapping[str, Any]) -> Recommendation:
    """Check a Bawaslu recommendation's shape (6.13)."""
    unknown = sorted(set(raw) - {"acts_on", "recommendation", "legal_basis", "tps"})
    if unknown:
        raise RejectedEntry(f"a recommendation has no member(s) {', '.join(unknown)}")
    _text(raw.get("legal_basis"), "a recommendation's legal_basis")
    tps = raw.get("tps", [])
    if "tps" in raw and (
        not isinstance(tps, list) or not tps or not all(isinstance(t, str) for t in tps)
    ):
        raise RejectedEntry("a recommendation's tps must list TPS ids")
    return Recommendation(
        acts_on=_hashes(raw.get("acts_on"), "a recommendation's acts_on"),
        text=_text(raw.get("recommendation"), "a recommendation's text"),
        tps=tuple(tps),
    )


def recap_from_payload(payload: Mapping[str, Any]) -> Recap:
    """A recorded recap form's payload, checked when it was recorded, as a ``Recap``."""
    return Recap(
        contest=payload["contest"],
        region=payload["region"],
        plenary_date=payload["plenary_date"],
        rows=tuple(
            RecapRow(r["region"], dict(r["votes"]), r["valid"], r["invalid"], r["voters"])
            for r in payload["rows"]
        ),
        photos=tuple(payload.get("photos", ())),
        replaces=payload.get("replaces"),
    )
