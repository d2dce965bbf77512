"""Result forms of one contest and source as columns, for bulk import.

Bulk import screens every row with vectorised checks; a row that fails any of them is
sent to the per-form validator, so that each refusal carries the same specific message
as a live submission. Rows that are not plain (a correction, photos, unexpected keys)
are left to the per-form path as well.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from saksi.ingest.validate import MAX_COUNT
from saksi.manifest.model import Contest, Source

__all__ = ["FormColumns", "columns_from_dicts"]

_PLAIN_KEYS = frozenset({"tps", "contest", "source", "votes", "fields"})
ABSENT = -1  # marks an absent cell; real counts are never negative


_BLOCK = 65_536


@dataclass
class FormColumns:
    """Forms of one contest and source; each row holds the choices' votes, then the fields.

    Rows are packed into NumPy blocks as they arrive, so a national import holds its
    numbers as 8-byte integers rather than as Python objects.
    """

    contest: Contest
    source: Source
    choices: tuple[str, ...]
    fields: tuple[str, ...]
    label_format: str = "form {}"  # how an error names a row: its CSV line or position
    label_offset: int = 1
    tps: list[str] = field(default_factory=list)
    odd: dict[int, dict[str, Any]] = field(default_factory=dict)  # row -> raw form
    broken: dict[int, str] = field(default_factory=dict)  # row -> why it cannot be read
    _rows: list[list[int]] = field(default_factory=list)
    _blocks: list[npt.NDArray[np.int64]] = field(default_factory=list)
    _matrix: npt.NDArray[np.int64] | None = None

    @property
    def width(self) -> int:
        return len(self.choices) + len(self.fields)

    def label(self, index: int) -> str:
        return self.label_format.format(index + self.label_offset)

    def add(self, tps: str, values: list[int] | None, raw: Any = None) -> None:
        """Add a row; ``values`` None marks a row only the per-form validator can judge."""
        if values is None:
            self.odd[len(self.tps)] = raw if isinstance(raw, dict) else {"form": raw}
            values = [ABSENT] * self.width
        self.tps.append(tps)
        self._rows.append(values)
        self._matrix = None
        if len(self._rows) >= _BLOCK:
            self._pack()

    def extend(
        self,
        tps: list[str],
        matrix: npt.NDArray[np.int64],
        odd: dict[int, dict[str, Any]],
        broken: dict[int, str],
    ) -> None:
        """Append rows read elsewhere; ``odd`` and ``broken`` count from the part's start."""
        self._pack()
        base = len(self.tps)
        self.tps.extend(tps)
        self._blocks.append(matrix)
        self.odd.update({base + i: raw for i, raw in odd.items()})
        self.broken.update({base + i: why for i, why in broken.items()})
        self._matrix = None

    def _pack(self) -> None:
        if self._rows:
            block = np.array(self._rows, dtype=np.int64).reshape(len(self._rows), self.width)
            self._blocks.append(block)
            self._rows = []

    def __len__(self) -> int:
        return len(self.tps)

    def matrix(self) -> npt.NDArray[np.int64]:
        """All rows as one (forms x values) array; -1 marks an absent value."""
        if self._matrix is None:
            self._pack()
            self._blocks = [
                np.concatenate(self._blocks)
                if self._blocks
                else np.zeros((0, self.width), dtype=np.int64)
            ]
            self._matrix = self._blocks[0]
        return self._matrix

    def raw(self, index: int) -> dict[str, Any]:
        """The row as a form payload, for the per-form validator."""
        odd = self.odd.get(index)
        if odd is not None:
            return odd
        values = self.matrix()[index].tolist()
        width = len(self.choices)
        return {
            "tps": self.tps[index],
            "contest": self.contest.id,
            "source": self.source.id,
            "votes": {c: v for c, v in zip(self.choices, values, strict=False) if v != ABSENT},
            "fields": {
                f: v for f, v in zip(self.fields, values[width:], strict=True) if v != ABSENT
            },
        }


def _plain_values(
    raw: Mapping[str, Any],
    choices: tuple[str, ...],
    fields: tuple[str, ...],
    contest: str,
    source: str,
) -> list[int] | None:
    """The row's counts when it is a plain form of this contest and source, else None."""
    if raw.keys() - _PLAIN_KEYS or raw.get("contest") != contest or raw.get("source") != source:
        return None
    votes, values = raw.get("votes"), raw.get("fields", {})
    if not isinstance(votes, dict) or not isinstance(values, dict):
        return None
    if votes.keys() - set(choices) or values.keys() - set(fields):
        return None
    out = [votes.get(c, ABSENT) for c in choices]
    for name in fields:
        value = values.get(name, ABSENT)
        out.append(ABSENT if value is None else value)
    for value in out:
        if type(value) is not int or value > MAX_COUNT or value < ABSENT:
            return None
    return out


def columns_from_dicts(
    forms: Iterable[dict[str, Any]], contest: Contest, source: Source
) -> FormColumns:
    choices = tuple(c.id for c in contest.all_choices())
    columns = FormColumns(contest, source, choices, source.fields)
    for raw in forms:
        plain = isinstance(raw, dict)
        values = (
            _plain_values(raw, choices, source.fields, contest.id, source.id) if plain else None
        )
        tps = raw.get("tps") if plain else None
        columns.add(tps if isinstance(tps, str) else "", values, raw)
    return columns
