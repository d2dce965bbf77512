"""Incremental tally arithmetic: pure, no I/O.

A form contributes one sparse vector of counts. Accepting it adds that vector to the row
of each region on its TPS's path (national, provinsi, kabupaten/kota, kecamatan, desa);
a correction subtracts the old version's vector and adds the new one. So one form
touches exactly as many rows as its TPS is deep in the tree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from saksi.ingest.fields import TALLY_FIELDS
from saksi.ingest.rules import RULE_IDS

__all__ = ["Contribution", "Tally", "TallyLayout"]

Contribution = list[tuple[int, int]]

_REPORTED, _DPT, _DPT_MISSING, _TURNOUT_VOTERS, _TURNOUT_DPT = range(5)
_FIXED = 5


class TallyLayout:
    """Where each count sits in a tally row for one contest and source."""

    def __init__(self, choices: Iterable[str], fields: Iterable[str]) -> None:
        self.choices = tuple(choices)
        self.fields = tuple(fields)
        self.choice_index = {c: _FIXED + i for i, c in enumerate(self.choices)}
        base = _FIXED + len(self.choices)
        self.field_index = {f: base + 2 * i for i, f in enumerate(self.fields)}
        base += 2 * len(self.fields)
        self.rule_index = {r: base + i for i, r in enumerate(RULE_IDS)}
        self.width = base + len(RULE_IDS)

    def contribution(
        self,
        votes: Mapping[str, int],
        fields: Mapping[str, int],
        flags: Iterable[str],
        dpt: int | None,
    ) -> Contribution:
        out: Contribution = [(_REPORTED, 1)]
        if dpt is None:
            out.append((_DPT_MISSING, 1))
        else:
            out.append((_DPT, dpt))
        voters = fields.get("pengguna_hak_pilih")
        if voters is not None and dpt is not None:
            out.append((_TURNOUT_VOTERS, voters))
            out.append((_TURNOUT_DPT, dpt))
        choice_index = self.choice_index
        for choice, value in votes.items():
            if value:
                out.append((choice_index[choice], value))
        for name, index in self.field_index.items():
            present = fields.get(name)
            if present is None:
                out.append((index + 1, 1))
            elif present:
                out.append((index, present))
        rule_index = self.rule_index
        out.extend((rule_index[rule], 1) for rule in flags)
        return out

    def contribution_matrix(
        self,
        votes: npt.NDArray[np.int64],
        fields: dict[str, tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]],
        flags: npt.NDArray[np.bool_],
        dpt: tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]],
    ) -> npt.NDArray[np.int64]:
        """``contribution`` for many forms at once: one row of this layout per form.

        ``votes`` is (forms x self.choices); ``flags`` is (forms x RULE_IDS).
        """
        n = votes.shape[0]
        out = np.zeros((n, self.width), dtype=np.int64)
        out[:, _REPORTED] = 1
        dpt_value, dpt_present = dpt
        out[:, _DPT] = np.where(dpt_present, dpt_value, 0)
        out[:, _DPT_MISSING] = ~dpt_present
        voters = fields.get("pengguna_hak_pilih")
        if voters is not None:
            both = voters[1] & dpt_present
            out[:, _TURNOUT_VOTERS] = np.where(both, voters[0], 0)
            out[:, _TURNOUT_DPT] = np.where(both, dpt_value, 0)
        out[:, _FIXED : _FIXED + len(self.choices)] = votes
        for name, index in self.field_index.items():
            value, present = fields[name]
            out[:, index] = np.where(present, value, 0)
            out[:, index + 1] = ~present
        first_rule = self.rule_index[RULE_IDS[0]]
        out[:, first_rule : first_rule + len(RULE_IDS)] = flags
        return out

    def to_json(self, row: list[int]) -> dict[str, Any]:
        """The figures of a row under the keys scripts rely on (README: tally --json)."""
        fields = {f: row[i] for f, i in self.field_index.items()}
        missing = {f: row[i + 1] for f, i in self.field_index.items()}
        missing["dpt"] = row[_DPT_MISSING]
        out: dict[str, Any] = {
            "choices": {c: row[i] for c, i in self.choice_index.items()},
        }
        for key, field in TALLY_FIELDS.items():
            out[key] = fields.get(field, 0) if field in fields else None
        out["dpt"] = row[_DPT]
        out["turnout"] = (
            round(row[_TURNOUT_VOTERS] / row[_TURNOUT_DPT], 6) if row[_TURNOUT_DPT] else None
        )
        out["tps_reported"] = row[_REPORTED]
        out["flagged_tps"] = {r: row[i] for r, i in self.rule_index.items() if row[i]}
        out["missing"] = {f: n for f, n in missing.items() if n}
        out["fields"] = fields
        return out


class Tally:
    """Hot tally rows in memory, with the set of rows changed since the last flush.

    A form is added to its desa's row at once; the desa's net change reaches the rows
    above it when the tally settles (before any read or flush). During bulk ingest many
    forms share a desa, so each ancestor row is touched once per desa, not once per form.
    """

    def __init__(self) -> None:
        self.layouts: dict[tuple[str, str], TallyLayout] = {}
        self.rows: dict[tuple[str, str], dict[str, list[int]]] = {}
        self._dirty: set[tuple[str, str, str]] = set()
        # (contest, source) -> desa -> (path, the desa's row when first touched since settling)
        self._before: dict[tuple[str, str], dict[str, tuple[tuple[str, ...], list[int]]]] = {}

    @property
    def dirty(self) -> set[tuple[str, str, str]]:
        self.settle()
        return self._dirty

    def layout(self, contest: str, source: str) -> TallyLayout:
        return self.layouts[(contest, source)]

    def add_layout(self, contest: str, source: str, layout: TallyLayout) -> None:
        self.layouts[(contest, source)] = layout
        self.rows[(contest, source)] = {}
        self._before[(contest, source)] = {}

    def apply(
        self,
        contest: str,
        source: str,
        path: tuple[str, ...],
        contribution: Contribution,
        sign: int,
    ) -> int:
        """Add (sign=1) or remove (sign=-1) a contribution along a path; returns rows touched."""
        key = (contest, source)
        rows = self.rows[key]
        desa = path[-1]
        row = rows.get(desa)
        if row is None:
            row = rows[desa] = [0] * self.layouts[key].width
        before = self._before[key]
        if desa not in before:
            before[desa] = (path, row.copy())
        if sign > 0:
            for index, value in contribution:
                row[index] += value
        else:
            for index, value in contribution:
                row[index] -= value
        return len(path)

    def add_region_totals(self, contest: str, source: str, totals: dict[str, list[int]]) -> None:
        """Add already aggregated counts to whole regions (bulk import: one add per region)."""
        self.settle()  # earlier per-form additions must reach the ancestors first
        key = (contest, source)
        rows = self.rows[key]
        width = self.layouts[key].width
        dirty = self._dirty
        for region, counts in totals.items():
            row = rows.get(region)
            if row is None:
                rows[region] = list(counts)
            else:
                for index, value in enumerate(counts):
                    if value:
                        row[index] += value
            assert len(rows[region]) == width
            dirty.add((contest, source, region))

    def settle(self) -> None:
        """Carry every touched desa's net change up to its ancestors."""
        dirty = self._dirty
        for (contest, source), before in self._before.items():
            if not before:
                continue
            rows = self.rows[(contest, source)]
            width = self.layouts[(contest, source)].width
            for desa, (path, old) in before.items():
                row = rows[desa]
                dirty.add((contest, source, desa))
                delta = [
                    (i, new - was)
                    for i, (new, was) in enumerate(zip(row, old, strict=True))
                    if new != was
                ]
                for region in path[:-1]:
                    upper = rows.get(region)
                    if upper is None:
                        upper = rows[region] = [0] * width
                    for index, value in delta:
                        upper[index] += value
                    dirty.add((contest, source, region))
            before.clear()

    def row(self, contest: str, source: str, region: str) -> list[int] | None:
        self.settle()
        return self.rows.get((contest, source), {}).get(region)

    def take_dirty(self) -> list[tuple[str, str, str, list[int]]]:
        self.settle()
        out = [(c, s, r, self.rows[(c, s)][r]) for c, s, r in self._dirty]
        self._dirty = set()
        return out

    def clear_dirty(self) -> None:
        self.settle()
        self._dirty = set()
