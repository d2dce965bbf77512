"""Checks 7 and 8: the totals and flags a replay gives at a record size, compared with
the published files that state that size (docs/publication.md)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import numpy as np

from saksi.verify.replay import Layout, Replay
from saksi.verify.report import Failure, Report
from saksi.verify.rules import RULE_ORDER

__all__ = ["expected_flags", "expected_totals"]

# Totals keys of `saksi tally --json` and the form field each sums (README).
_NAMED = {"valid": "suara_sah", "invalid": "suara_tidak_sah", "voters": "pengguna_hak_pilih"}
_REPORTED, _DPT, _DPT_MISSING, _T_VOTERS, _T_DPT = range(5)


def _coverage(replay: Replay, contest: str) -> tuple[dict[str, int], dict[str, int]]:
    """TPS count and DPT sum per region, over the TPS the contest covers."""
    tps_total: dict[str, int] = {}
    dpt_total: dict[str, int] = {}
    spec = replay.contests[contest]
    for desa, dpt, _ in replay.tps.values():
        if replay.ballot(spec, desa) is None:
            continue
        for region in replay.paths[desa]:
            tps_total[region] = tps_total.get(region, 0) + 1
            dpt_total[region] = dpt_total.get(region, 0) + (dpt or 0)
    return tps_total, dpt_total


def _matrix(replay: Replay, layout: Layout, rows: Iterable[Any]) -> tuple[np.ndarray, list[str]]:
    width = 5 + len(layout.choices) + 2 * len(layout.fields) + len(RULE_ORDER)
    voters_at = (
        layout.fields.index("pengguna_hak_pilih") if "pengguna_hak_pilih" in layout.fields else -1
    )
    rule_at = {r: i for i, r in enumerate(RULE_ORDER)}
    data: list[list[int]] = []
    desas: list[str] = []
    for row in rows:
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
        flags = [0] * len(RULE_ORDER)
        for rule in row.flags:
            flags[rule_at[rule]] = 1
        data.append(vector + flags)
        desas.append(desa)
    matrix = np.array(data, dtype=np.int64).reshape(len(data), width)
    return matrix, desas


def expected_totals(
    replay: Replay, contest: str, source: str, log_size: int
) -> dict[str, dict[str, Any]]:
    """Region id -> the totals document of every region with at least one form."""
    layout = replay.layouts[(contest, source)]
    matrix, desas = _matrix(replay, layout, replay.current[(contest, source)].values())
    if not desas:
        return {}
    names = list(replay.paths)
    number = {r: i for i, r in enumerate(names)}
    sums = np.zeros((len(names), matrix.shape[1]), dtype=np.int64)
    paths = np.array([[number[r] for r in replay.paths[d]] for d in desas], dtype=np.int64)
    for level in range(paths.shape[1]):
        np.add.at(sums, paths[:, level], matrix)
    tps_total, dpt_total = _coverage(replay, contest)
    out: dict[str, dict[str, Any]] = {}
    c0 = 5
    f0 = c0 + len(layout.choices)
    r0 = f0 + 2 * len(layout.fields)
    for i in np.flatnonzero(sums[:, _REPORTED]):
        row = [int(x) for x in sums[i]]
        rid = names[int(i)]
        region_name, region_level, _ = replay.regions[rid]
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
        doc["tps_total"] = tps_total.get(rid, 0)
        doc["dpt_total"] = dpt_total.get(rid, 0)
        out[rid] = doc
    return out


def expected_flags(replay: Replay, contest: str, source: str, log_size: int) -> dict[str, Any]:
    rows = sorted(replay.current[(contest, source)].values(), key=lambda r: r.tps)
    return {
        "contest": contest,
        "flags": [
            {"leaf_index": r.seq, "rules": list(r.flags), "tps_id": r.tps} for r in rows if r.flags
        ],
        "log_size": log_size,
        "source": source,
    }


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
