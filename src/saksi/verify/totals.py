"""Checks 7 and 8: the totals and flags a replay gives at a record size, compared with
the published files that state that size (docs/publication.md)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from saksi.verify.replay import Layout, Replay
from saksi.verify.report import Failure, Report
from saksi.verify.rules import RULE_ORDER

__all__ = ["compare", "coverage", "documents", "flag_items", "partial_sums", "tps_figures"]

# Totals keys of `saksi tally --json` and the form field each sums (README).
_NAMED = {"valid": "suara_sah", "invalid": "suara_tidak_sah", "voters": "pengguna_hak_pilih"}
_REPORTED, _DPT, _DPT_MISSING, _T_VOTERS, _T_DPT = range(5)


def partial_sums(replay: Replay, contest: str, source: str) -> np.ndarray:
    """Per region (in ``replay.paths`` order), the summed columns of this part's forms."""
    layout = replay.layouts[(contest, source)]
    width = 5 + len(layout.choices) + 2 * len(layout.fields) + len(RULE_ORDER)
    rows = replay.current[(contest, source)].values()
    number = {r: i for i, r in enumerate(replay.paths)}
    sums = np.zeros((len(number), width), dtype=np.int64)
    if not rows:
        return sums
    voters_at = (
        layout.fields.index("pengguna_hak_pilih") if "pengguna_hak_pilih" in layout.fields else -1
    )
    rule_at = {
        r: 5 + len(layout.choices) + 2 * len(layout.fields) + i for i, r in enumerate(RULE_ORDER)
    }
    matrix = np.zeros((len(rows), width), dtype=np.int64)
    where = np.zeros((len(rows), 5), dtype=np.int64)
    for n, row in enumerate(rows):
        desa, dpt, _ = replay.tps[row.tps]
        voters = row.fields[voters_at] if voters_at >= 0 else None
        both = voters is not None and dpt is not None
        vector = [
            1,
            dpt or 0,
            int(dpt is None),
            voters or 0 if both else 0,
            dpt or 0 if both else 0,
        ]
        vector += row.votes
        for value in row.fields:
            vector += (0, 1) if value is None else (value, 0)
        matrix[n, : len(vector)] = vector
        for rule in row.flags:
            matrix[n, rule_at[rule]] = 1
        where[n] = [number[r] for r in replay.paths[desa]]
    for level in range(where.shape[1]):
        np.add.at(sums, where[:, level], matrix)
    return sums


def coverage(replay: Replay, contest: str) -> dict[str, tuple[int, int]]:
    """Per region, the TPS the contest covers there and the sum of their DPT."""
    out: dict[str, tuple[int, int]] = {}
    spec = replay.contests[contest]
    for desa, dpt, _ in replay.tps.values():
        if replay.ballot(spec, desa) is None:
            continue
        for region in replay.paths[desa]:
            count, total = out.get(region, (0, 0))
            out[region] = (count + 1, total + (dpt or 0))
    return out


def documents(
    regions: list[tuple[str, str, str]],
    sums: np.ndarray,
    layout: Layout,
    covered: dict[str, tuple[int, int]],
    contest: str,
    source: str,
    log_size: int,
) -> dict[str, dict[str, Any]]:
    """Region id -> the totals document (`saksi tally --json`) of each region with forms.
    ``regions`` are (id, name, level) in the rows' order."""
    out: dict[str, dict[str, Any]] = {}
    c0 = 5
    f0 = c0 + len(layout.choices)
    r0 = f0 + 2 * len(layout.fields)
    for i in np.flatnonzero(sums[:, _REPORTED]):
        row = [int(x) for x in sums[i]]
        rid, region_name, region_level = regions[int(i)]
        fields = {f: row[f0 + 2 * k] for k, f in enumerate(layout.fields)}
        missing = {f: row[f0 + 2 * k + 1] for k, f in enumerate(layout.fields)}
        missing["dpt"] = row[_DPT_MISSING]
        doc: dict[str, Any] = {
            "region": {"id": rid, "name": region_name, "level": region_level},
            "contest": contest,
            "source": source,
            "log_size": log_size,
            "choices": {c: row[c0 + k] for k, c in enumerate(layout.choices)},
        }
        for key, field in _NAMED.items():
            doc[key] = fields.get(field)
        doc["dpt"] = row[_DPT]
        doc["turnout"] = round(row[_T_VOTERS] / row[_T_DPT], 6) if row[_T_DPT] else None
        doc["tps_reported"] = row[_REPORTED]
        doc["flagged_tps"] = {r: row[r0 + k] for k, r in enumerate(RULE_ORDER) if row[r0 + k]}
        doc["missing"] = {f: n for f, n in missing.items() if n}
        doc["fields"] = fields
        doc["tps_total"], doc["dpt_total"] = covered.get(rid, (0, 0))
        out[rid] = doc
    return out


def tps_figures(
    regions: list[tuple[str, str, str]],
    sums: np.ndarray,
    layout: Layout,
    wanted: set[str],
    covered: dict[str, tuple[int, int]],
) -> dict[str, dict[str, int]]:
    """Region -> what a recap row of it is compared with, for the ``wanted`` regions where
    the source has a form for every TPS the contest covers (a partial sum would always
    differ, docs/ladder.md): the votes of every column and, where the source's form has
    the field, valid, invalid and voters (its totals document's figures, under the row's
    names)."""
    c0, f0 = 5, 5 + len(layout.choices)
    named = {
        figure: f0 + 2 * layout.fields.index(field)
        for figure, field in _NAMED.items()
        if field in layout.fields
    }
    out: dict[str, dict[str, int]] = {}
    for i, (rid, _, _) in enumerate(regions):
        if rid not in wanted:
            continue
        reported = int(sums[i, _REPORTED])
        if not reported or reported < covered.get(rid, (0, 0))[0]:
            continue
        row = sums[i]
        figures = {c: int(row[c0 + k]) for k, c in enumerate(layout.choices)}
        figures.update((figure, int(row[at])) for figure, at in named.items())
        out[rid] = figures
    return out


def flag_items(replay: Replay, contest: str, source: str) -> list[dict[str, Any]]:
    """This part's flagged current forms, as the flags file lists them."""
    return [
        {"leaf_index": r.seq, "rules": list(r.flags), "tps_id": r.tps}
        for r in replay.current[(contest, source)].values()
        if r.flags
    ]


def compare(
    report: Report,
    check: str,
    path: str,
    found_bytes: bytes,
    expected: dict[str, Any],
    **where: Any,
) -> None:
    """Record a failure naming each member that differs."""
    try:
        found = json.loads(found_bytes)
    except ValueError as exc:
        report.fail(Failure(check, f"published file is not JSON: {exc}", file=path, **where))
        return
    if found == expected:
        return
    keys = sorted(set(found) | set(expected)) if isinstance(found, dict) else []
    differ = [k for k in keys if found.get(k) != expected.get(k)]
    report.fail(
        Failure(
            check,
            f"published {check} differ from the replay of the log in "
            + (", ".join(differ) or "their shape"),
            file=path,
            expected={k: expected.get(k) for k in differ} if differ else expected,
            found={k: found.get(k) for k in differ} if differ else found,
            **where,
        )
    )
