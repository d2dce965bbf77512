"""Scoring flags against a planted truth: recall, precision, and which planted forms were
missed, on hand-made flags whose answers can be counted by eye."""

from __future__ import annotations

from saksi.forensics.checks import Flag
from saksi.forensics.evaluation import score_flags


def _flag(tps: str, rule: str, source: str = "kpps") -> Flag:
    return Flag(tps, "PPWP", source, rule, f"TPS {tps}: {rule}", {})


TRUTH = [
    {"kind": "inflated_turnout", "tps": "A", "source": "kpps", "field": "pengguna_hak_pilih"},
    {"kind": "inflated_turnout", "tps": "B", "source": "kpps", "field": "pengguna_hak_pilih"},
    {"kind": "inflated_turnout", "tps": "C", "source": "kpps", "field": "pengguna_hak_pilih"},
    {"kind": "extra_digit", "tps": "D", "source": "kpps", "field": "01"},
]


def test_missed_names_each_planted_form_without_a_flag_of_the_rows_rules() -> None:
    flags = [
        _flag("A", "voters_exceed_dpt_reserve"),
        _flag("B", "turnout_outlier"),  # an outlier is scored on its own row
        _flag("D", "votes_sum_valid"),
        _flag("E", "votes_sum_valid"),  # nothing planted here: a false flag
    ]
    scores = {s.name: s for s in score_flags(flags, TRUTH, "kpps")}

    turnout = scores["impossible_turnout"]
    assert (turnout.planted, turnout.found) == (3, 1)
    assert turnout.missed == (("B", "kpps"), ("C", "kpps"))
    assert turnout.recall == 1 / 3

    outlier = scores["turnout_outlier"]
    assert outlier.missed == (("A", "kpps"), ("C", "kpps"))

    # A sex's turnout above 100% counts as impossible turnout too.
    by_sex = {
        s.name: s for s in score_flags([_flag("C", "voters_exceed_dpt_by_sex")], TRUTH, "kpps")
    }
    assert by_sex["impossible_turnout"].found == 1
    assert by_sex["impossible_turnout"].missed == (("A", "kpps"), ("B", "kpps"))

    digit = scores["extra_digit"]
    assert (digit.found, digit.missed) == (1, ())
    # Its row counts every per-form rule: A and D carry a planted error, E does not.
    assert (digit.flagged, digit.true_flagged) == (3, 2)
