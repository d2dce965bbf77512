"""Rows the state machine emits for the projection tables, written in batches."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Pending", "projection_json"]


def projection_json(value: Any) -> str:
    """A payload as the projection tables keep it: sorted keys, compact, UTF-8 text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass
class Pending:
    """Projection rows produced since the last flush, in table order."""

    sources: list[tuple[Any, ...]] = field(default_factory=list)
    contests: list[tuple[Any, ...]] = field(default_factory=list)
    dapils: list[tuple[Any, ...]] = field(default_factory=list)
    choices: list[tuple[Any, ...]] = field(default_factory=list)
    tally_layouts: list[tuple[Any, ...]] = field(default_factory=list)
    regions: list[tuple[Any, ...]] = field(default_factory=list)
    tps: list[tuple[Any, ...]] = field(default_factory=list)
    keys: list[tuple[Any, ...]] = field(default_factory=list)
    revoked: list[tuple[int, str]] = field(default_factory=list)
    forms: list[tuple[Any, ...]] = field(default_factory=list)
    superseded: list[tuple[int]] = field(default_factory=list)
    attestations: list[tuple[Any, ...]] = field(default_factory=list)
    decisions: list[tuple[Any, ...]] = field(default_factory=list)
    ladder_entries: list[tuple[Any, ...]] = field(default_factory=list)
    ladder_superseded: list[tuple[int]] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return any(
            (
                self.sources,
                self.contests,
                self.dapils,
                self.choices,
                self.tally_layouts,
                self.regions,
                self.tps,
                self.keys,
                self.revoked,
                self.forms,
                self.superseded,
                self.attestations,
                self.decisions,
                self.ladder_entries,
                self.ladder_superseded,
                self.meta,
            )
        )
