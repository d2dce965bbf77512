"""Scoring forensics against a synthetic election's ground truth: precision and recall of
the flags per planted anomaly type (the truth file of `saksi example synthetic --truth`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from saksi.forensics.checks import Flag
from saksi.forensics.correction import RELATIONS

__all__ = ["DETECTORS", "Score", "score_flags"]

_ARITHMETIC = frozenset(RELATIONS)  # the rules that say a sum does not add up
_IMPOSSIBLE = frozenset(
    {
        "voters_exceed_dpt_reserve",
        "count_exceeds_tps_cap",
        "dpt_voters_exceed_dpt",
        "voters_exceed_dpt_by_sex",
    }
)
_DISAGREEMENT = frozenset({"source_disagreement"})
# Outliers are scored on their own rows: neighbours alone cannot tell a stuffed TPS that
# stays under its cap from a genuinely keen one.
_PER_FORM = _ARITHMETIC | _IMPOSSIBLE | _DISAGREEMENT

# Which planted kinds each row scores, and the rules that count as finding them.
DETECTORS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "extra_digit": (frozenset({"extra_digit"}), _PER_FORM),
    "arithmetic_break": (frozenset({"swapped_totals", "total_in_candidate"}), _ARITHMETIC),
    "swapped_choices": (frozenset({"swapped_choices"}), _PER_FORM),
    "impossible_turnout": (frozenset({"inflated_turnout"}), _IMPOSSIBLE | _DISAGREEMENT),
    "source_disagreement": (frozenset({"source_disagreements"}), _DISAGREEMENT),
    "turnout_outlier": (frozenset({"inflated_turnout"}), frozenset({"turnout_outlier"})),
    "share_outlier": (frozenset({"inflated_turnout"}), frozenset({"share_outlier"})),
}


@dataclass(frozen=True)
class Score:
    name: str
    planted: int
    found: int
    flagged: int
    true_flagged: int
    missed: tuple[tuple[str, str], ...] = ()  # (tps, source) of planted forms not found

    @property
    def recall(self) -> float:
        return self.found / self.planted if self.planted else float("nan")

    @property
    def precision(self) -> float:
        return self.true_flagged / self.flagged if self.flagged else float("nan")


def _kind(entry: Mapping[str, Any]) -> str:
    """Swapping two choices keeps every sum, so it is no arithmetic break: scored apart."""
    kind = str(entry["kind"])
    if kind == "swapped_fields":
        pair = {entry["field"], entry["swapped_with"]}
        return "swapped_totals" if pair & {"suara_sah", "suara_tidak_sah"} else "swapped_choices"
    return kind


def score_flags(
    flags: Iterable[Flag], truth: Sequence[Mapping[str, Any]], official: str
) -> list[Score]:
    """Recall: planted forms of the kind with a flag of the row's rules. Precision: forms
    flagged by those rules that carry any planted error (for disagreements: a planted
    disagreement, or a planted error on the official form it is compared with)."""
    by_rule: dict[tuple[str, str], set[str]] = {}
    for flag in flags:
        by_rule.setdefault((flag.tps_id, flag.source), set()).add(flag.rule)
    planted: dict[tuple[str, str], set[str]] = {}
    for entry in truth:
        if "tps" in entry:
            planted.setdefault((str(entry["tps"]), str(entry["source"])), set()).add(_kind(entry))
    official_errors = {tps for (tps, source), kinds in planted.items() if source == official}
    scores = []
    for name, (kinds, rules) in DETECTORS.items():
        wanted = [key for key, found in planted.items() if found & kinds]
        missed = tuple(sorted(key for key in wanted if not by_rule.get(key, set()) & rules))
        # Per-form errors are planted on official forms, so their rows score those.
        flagged = [
            key
            for key, seen in by_rule.items()
            if seen & rules and (name == "source_disagreement" or key[1] == official)
        ]
        if name == "source_disagreement":
            true = sum(1 for key in flagged if key in planted or key[0] in official_errors)
        else:
            true = sum(1 for key in flagged if key in planted)
        found = len(wanted) - len(missed)
        scores.append(Score(name, len(wanted), found, len(flagged), true, missed))
    return scores
