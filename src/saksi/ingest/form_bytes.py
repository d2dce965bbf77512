"""Canonical payload bytes for many plain result forms at once.

A template per pattern of present values is made by running the one canonical encoder
(``saksi.canonical.canonical_bytes``) on a form with sentinel values, so the template is
canonical by construction; each form then only fills in its numbers and TPS id.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from json.encoder import encode_basestring
from typing import Any

from saksi.canonical import canonical_bytes

__all__ = ["PayloadFormatter"]

_SENTINEL_BASE = 9_007_199_254_740_000  # below 2**53 - 1, never a real count
_TPS_SENTINEL = "\ue000tps\ue000"
ABSENT = -1


class PayloadFormatter:
    """Payload bytes of plain forms (no photos, no replaces) of one contest and source."""

    def __init__(self, contest: str, source: str, choices: Sequence[str], fields: Sequence[str]):
        self.contest = contest
        self.source = source
        self.choices = tuple(choices)
        self.fields = tuple(fields)
        self._templates: dict[tuple[bool, ...], tuple[str, Callable[[list[Any]], Any]]] = {}

    def _template(self, present: tuple[bool, ...]) -> tuple[str, Callable[[list[Any]], Any]]:
        found = self._templates.get(present)
        if found is not None:
            return found
        width = len(self.choices) + len(self.fields)
        sentinel = {i: _SENTINEL_BASE + i for i in range(width) if present[i]}
        form = {
            "tps": _TPS_SENTINEL,
            "contest": self.contest,
            "source": self.source,
            "votes": {c: sentinel[i] for i, c in enumerate(self.choices) if i in sentinel},
            "fields": {
                f: sentinel[len(self.choices) + i]
                for i, f in enumerate(self.fields)
                if len(self.choices) + i in sentinel
            },
        }
        text = canonical_bytes(form).decode().replace("%", "%%")
        # Positions of the placeholders in the text give the order of the arguments.
        marks = [(text.index(f'"{_TPS_SENTINEL}"'), width)]
        marks += [(text.index(str(value)), i) for i, value in sentinel.items()]
        marks.sort()
        text = text.replace(f'"{_TPS_SENTINEL}"', "%s")
        for value in sentinel.values():
            text = text.replace(str(value), "%d")
        getter = operator.itemgetter(*(index for _, index in marks))
        self._templates[present] = (text, getter)
        return text, getter

    def body(self, values: list[int], tps: str) -> bytes:
        """Canonical payload bytes; ``values`` are the choices then the fields, -1 if absent."""
        template, getter = self._template(tuple(v != ABSENT for v in values))
        text: str = template % getter([*values, encode_basestring(tps)])
        return text.encode()

    def bodies(
        self,
        rows: list[list[Any]],
        tps: Sequence[str],
        kinds: Sequence[int],
        patterns: Sequence[tuple[bool, ...]],
    ) -> list[bytes]:
        """Payload bytes of many forms; form i has the values marked in patterns[kinds[i]]."""
        found = [self._template(p) for p in patterns]
        out = []
        for values, tps_id, kind in zip(rows, tps, kinds, strict=True):
            template, getter = found[kind]
            values.append(encode_basestring(tps_id))
            out.append((template % getter(values)).encode())
        return out
