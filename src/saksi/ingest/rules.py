"""The consistency rules of form C.Hasil: the one list of them, each with a stable id.

A broken rule is a flag for a human, never a rejection: paper forms do break them. A rule
is skipped when a field it needs is absent from the form.

Each rule is one expression over named values. The same expression is evaluated on one
form (plain integers) and on a column of forms during bulk import (NumPy arrays), so the
rules exist exactly once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "RULES",
    "RULE_IDS",
    "Rule",
    "check_rules",
    "check_rules_columns",
    "reserve_cap",
]

# Pseudo-values the drivers supply next to the form's own fields.
VOTES_TOTAL = "#votes_total"  # sum of every choice's votes
DPT = "#dpt"  # the registry's DPT for the TPS, else the DPT written on the form
MAX_COUNT = "#max_count"  # the largest count anywhere on the form


def reserve_cap(dpt: Any) -> Any:
    """Ballots a TPS receives: DPT plus a 2% reserve, rounded up (BRIEF: ballot accounting)."""
    return dpt + -(-dpt * 2 // 100)


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    message: str
    needs: tuple[str, ...]
    broken: Callable[..., Any] | None  # values in ``needs`` order -> bool (array); None: cap
    domestic_only: bool = False


def _ne_sum(total: Any, *parts: Any) -> Any:
    return total != sum(parts[1:], parts[0])


_RULE_LIST = (
    Rule(
        "votes_sum_valid",
        "choice votes do not sum to valid votes (suara sah)",
        (VOTES_TOTAL, "suara_sah"),
        lambda votes, valid: votes != valid,
    ),
    Rule(
        "valid_invalid_voters",
        "valid + invalid votes do not equal voters who voted",
        ("pengguna_hak_pilih", "suara_sah", "suara_tidak_sah"),
        _ne_sum,
    ),
    Rule(
        "valid_invalid_total",
        "valid + invalid votes do not equal the total on the form",
        ("suara_total", "suara_sah", "suara_tidak_sah"),
        _ne_sum,
    ),
    Rule(
        "valid_invalid_ballots",
        "valid + invalid votes do not equal ballots used",
        ("surat_suara_digunakan", "suara_sah", "suara_tidak_sah"),
        _ne_sum,
    ),
    Rule(
        "ballots_used_voters",
        "ballots used do not equal voters who voted",
        ("surat_suara_digunakan", "pengguna_hak_pilih"),
        lambda used, voters: used != voters,
    ),
    Rule(
        "voters_by_list",
        "voters who voted do not equal DPT + DPTb + DPK voters",
        ("pengguna_hak_pilih", "pengguna_dpt", "pengguna_dptb", "pengguna_dpk"),
        _ne_sum,
    ),
    Rule(
        "gender_split_dpt",
        "DPT does not equal male + female DPT",
        ("dpt", "dpt_laki", "dpt_perempuan"),
        _ne_sum,
    ),
    Rule(
        "gender_split_voters",
        "voters who voted do not equal male + female voters",
        ("pengguna_hak_pilih", "pengguna_hak_pilih_laki", "pengguna_hak_pilih_perempuan"),
        _ne_sum,
    ),
    Rule(
        "dpt_voters_exceed_dpt",
        "voters from the DPT exceed the DPT",
        ("pengguna_dpt", DPT),
        lambda used, dpt: used > dpt,
    ),
    Rule(
        "ballot_accounting",
        "ballots received do not equal used + damaged + unused",
        ("surat_suara_diterima", "surat_suara_digunakan", "surat_suara_rusak", "surat_suara_sisa"),
        _ne_sum,
    ),
    Rule(
        "voters_exceed_dpt_reserve",
        "voters exceed DPT plus the 2% ballot reserve at a domestic TPS",
        ("pengguna_hak_pilih", DPT),
        lambda voters, dpt: voters > reserve_cap(dpt),
        domestic_only=True,
    ),
    Rule(
        "count_exceeds_tps_cap",
        "a count is larger than a domestic TPS can hold",
        (MAX_COUNT,),
        None,
        domestic_only=True,
    ),
)

RULES: dict[str, str] = {rule.id: rule.message for rule in _RULE_LIST}
RULE_IDS = tuple(RULES)


def check_rules(
    votes: Mapping[str, int],
    fields: Mapping[str, int],
    *,
    domestic: bool,
    registry_dpt: int | None,
    max_dpt: int,
) -> list[str]:
    """Rule ids one form breaks, in RULES order."""
    values: dict[str, int | None] = dict(fields)
    values[VOTES_TOTAL] = sum(votes.values())
    values[DPT] = registry_dpt if registry_dpt is not None else fields.get("dpt")
    cap = reserve_cap(max_dpt)
    broken: list[str] = []
    for rule in _RULE_LIST:
        if rule.domestic_only and not domestic:
            continue
        if rule.broken is None:
            counts = [*votes.values(), *fields.values()]
            if counts and max(counts) > cap:
                broken.append(rule.id)
            continue
        args = [values.get(name) for name in rule.needs]
        if None not in args and rule.broken(*args):
            broken.append(rule.id)
    return broken


IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def check_rules_columns(
    votes: IntArray,
    fields: Mapping[str, tuple[IntArray, BoolArray]],
    *,
    domestic: BoolArray,
    registry_dpt: tuple[IntArray, BoolArray],
    max_dpt: int,
) -> BoolArray:
    """Rules broken by many forms at once: a (forms x RULE_IDS) boolean matrix.

    ``votes`` is (forms x choices); each field maps to (values, present) columns.
    """
    n = votes.shape[0]
    everywhere = np.ones(n, dtype=bool)
    columns: dict[str, tuple[IntArray, BoolArray]] = dict(fields)
    columns[VOTES_TOTAL] = (votes.sum(axis=1), everywhere)
    reg_value, reg_present = registry_dpt
    form_dpt = fields.get("dpt")
    if form_dpt is None:
        columns[DPT] = registry_dpt
    else:
        columns[DPT] = (
            np.where(reg_present, reg_value, form_dpt[0]),
            reg_present | form_dpt[1],
        )
    cap = reserve_cap(max_dpt)
    out = np.zeros((n, len(_RULE_LIST)), dtype=bool)
    for index, rule in enumerate(_RULE_LIST):
        scope = domestic if rule.domestic_only else everywhere
        if rule.broken is None:
            largest = votes.max(axis=1) if votes.shape[1] else np.zeros(n, dtype=np.int64)
            for value, present in fields.values():
                largest = np.maximum(largest, np.where(present, value, 0))
            out[:, index] = scope & (largest > cap)
            continue
        if any(name not in columns for name in rule.needs):
            continue
        present = scope.copy()
        for name in rule.needs:
            present &= columns[name][1]
        result = rule.broken(*(columns[name][0] for name in rule.needs))
        out[:, index] = present & result
    return out
