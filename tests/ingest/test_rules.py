"""Consistency rules of form C.Hasil: each fires alone on the break it names, and only then."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saksi.ingest.fields import FIELDS
from saksi.ingest.rules import RULE_IDS, RULES, check_rules, check_rules_columns, reserve_cap

MAX_DPT = 300

# A consistent form at a TPS with 200 registered voters, every field present:
# 150 + 5 + 5 = 160 voters = 80 men + 80 women = 150 valid + 10 invalid = 160 ballots used;
# ballots received 204 = DPT + 2% = 160 used + 4 damaged + 40 unused.
VOTES = {"01": 90, "02": 60}
FIELDS_OK = {
    "dpt": 200,
    "dpt_laki": 100,
    "dpt_perempuan": 100,
    "pengguna_dpt": 150,
    "pengguna_dptb": 5,
    "pengguna_dpk": 5,
    "pengguna_hak_pilih": 160,
    "pengguna_hak_pilih_laki": 80,
    "pengguna_hak_pilih_perempuan": 80,
    "suara_sah": 150,
    "suara_tidak_sah": 10,
    "suara_total": 160,
    "surat_suara_diterima": 204,
    "surat_suara_digunakan": 160,
    "surat_suara_rusak": 4,
    "surat_suara_sisa": 40,
}
REGISTRY_DPT = 200


class Case:
    """A form breaking exactly one rule: the fields removed from the consistent form
    (for rules that cannot break alone while every field is present), the changes, the
    registry DPT, and a field whose absence makes the rule skip."""

    def __init__(
        self,
        rule: str,
        *,
        changes: dict[str, int] | None = None,
        votes: dict[str, int] | None = None,
        removed: tuple[str, ...] = (),
        registry_dpt: int | None = REGISTRY_DPT,
        needs: str,
    ) -> None:
        self.rule = rule
        self.removed = removed
        self.registry_dpt = registry_dpt
        self.needs = needs
        base = {k: v for k, v in FIELDS_OK.items() if k not in removed}
        self.base = base
        self.fields = {**base, **(changes or {})}
        self.votes = {**VOTES, **(votes or {})}


CASES = [
    Case("votes_sum_valid", votes={"01": 91}, needs="suara_sah"),
    # With ballots used present, valid + invalid = used = voters would imply this rule.
    Case(
        "valid_invalid_voters",
        removed=("surat_suara_digunakan",),
        changes={"pengguna_hak_pilih": 161, "pengguna_dpk": 6, "pengguna_hak_pilih_laki": 81},
        needs="suara_tidak_sah",
    ),
    Case("valid_invalid_total", changes={"suara_total": 161}, needs="suara_total"),
    Case(
        "valid_invalid_ballots",
        removed=("pengguna_hak_pilih",),
        changes={"surat_suara_digunakan": 161, "surat_suara_rusak": 3},
        needs="surat_suara_digunakan",
    ),
    Case(
        "ballots_used_voters",
        removed=("suara_sah",),
        changes={"surat_suara_digunakan": 161, "surat_suara_rusak": 3},
        needs="pengguna_hak_pilih",
    ),
    Case("voters_by_list", changes={"pengguna_dpk": 6}, needs="pengguna_dptb"),
    Case("gender_split_dpt", changes={"dpt_laki": 101}, needs="dpt_perempuan"),
    Case(
        "gender_split_voters",
        changes={"pengguna_hak_pilih_laki": 81},
        needs="pengguna_hak_pilih_perempuan",
    ),
    Case(
        "dpt_voters_exceed_dpt",
        removed=("pengguna_hak_pilih",),
        changes={"pengguna_dpt": 201},
        needs="pengguna_dpt",
    ),
    Case("ballot_accounting", changes={"surat_suara_sisa": 41}, needs="surat_suara_diterima"),
    # DPT 150 allows 150 + 3 = 153 voters; the form has 160 (and 150 from the DPT).
    Case("voters_exceed_dpt_reserve", registry_dpt=150, needs="pengguna_hak_pilih"),
    # A DPT of 400 written on the form: more than any domestic TPS (300 + 2% = 306) holds.
    # The registry's DPT of 200 is the one the other rules use.
    Case(
        "count_exceeds_tps_cap",
        changes={"dpt": 400, "dpt_laki": 200, "dpt_perempuan": 200},
        needs="dpt",
    ),
]
CAP_RULES = {"voters_exceed_dpt_reserve", "count_exceeds_tps_cap"}


def _check(
    votes: dict[str, int],
    fields: dict[str, int],
    *,
    domestic: bool = True,
    registry_dpt: int | None = REGISTRY_DPT,
) -> list[str]:
    return check_rules(votes, fields, domestic=domestic, registry_dpt=registry_dpt, max_dpt=MAX_DPT)


def test_every_rule_has_a_case() -> None:
    assert [c.rule for c in CASES] == list(RULES)
    assert set(FIELDS_OK) == set(FIELDS)


def test_the_consistent_form_breaks_no_rule() -> None:
    assert _check(VOTES, FIELDS_OK) == []
    assert _check(VOTES, FIELDS_OK, domestic=False) == []
    assert _check(VOTES, FIELDS_OK, registry_dpt=None) == []


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.rule)
def test_each_rule_fires_alone_on_its_break(case: Case) -> None:
    assert _check(VOTES, case.base, registry_dpt=REGISTRY_DPT) == []
    assert _check(case.votes, case.fields, registry_dpt=case.registry_dpt) == [case.rule]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.rule)
def test_a_rule_is_skipped_when_a_field_it_needs_is_absent(case: Case) -> None:
    fields = {k: v for k, v in case.fields.items() if k != case.needs}
    assert case.needs in case.fields
    assert case.rule not in _check(case.votes, fields, registry_dpt=case.registry_dpt)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.rule)
def test_overseas_tps_are_exempt_from_the_cap_rules_only(case: Case) -> None:
    flags = _check(case.votes, case.fields, domestic=False, registry_dpt=case.registry_dpt)
    assert flags == ([] if case.rule in CAP_RULES else [case.rule])


def test_several_breaks_are_reported_in_rule_order() -> None:
    fields = {**FIELDS_OK, "suara_total": 161, "dpt_laki": 101, "surat_suara_sisa": 41}
    votes = {"01": 900, "02": 60}
    assert _check(votes, fields) == [
        "votes_sum_valid",
        "valid_invalid_total",
        "gender_split_dpt",
        "ballot_accounting",
        "count_exceeds_tps_cap",
    ]


def test_the_registry_dpt_takes_precedence_over_the_form() -> None:
    # The form says DPT 200, but the registry has 150 registered: 160 voters is too many.
    assert _check(VOTES, FIELDS_OK, registry_dpt=150) == ["voters_exceed_dpt_reserve"]
    # Without a registry DPT, the form's own DPT is used.
    small = {**FIELDS_OK, "dpt": 150, "dpt_laki": 75, "dpt_perempuan": 75}
    assert _check(VOTES, small, registry_dpt=None) == ["voters_exceed_dpt_reserve"]
    # With neither, the DPT rules skip, however many voters came.
    no_dpt = {k: v for k, v in FIELDS_OK.items() if k not in ("dpt", "dpt_laki", "dpt_perempuan")}
    assert _check(VOTES, no_dpt, registry_dpt=None) == []
    assert (
        _check(VOTES, {**no_dpt, "pengguna_dpt": 155, "pengguna_dptb": 0}, registry_dpt=None) == []
    )


def test_votes_alone_with_no_fields_break_nothing() -> None:
    assert _check({"01": 5, "02": 7}, {}) == []
    assert _check({"01": 307, "02": 0}, {}) == ["count_exceeds_tps_cap"]
    assert _check({"01": 306, "02": 0}, {}) == []


@pytest.mark.parametrize(
    ("dpt", "cap"), [(0, 0), (1, 2), (49, 50), (50, 51), (100, 102), (101, 104), (300, 306)]
)
def test_reserve_cap_is_dpt_plus_two_percent_rounded_up(dpt: int, cap: int) -> None:
    assert reserve_cap(dpt) == cap


def test_the_cap_follows_the_manifest_maximum() -> None:
    votes = {"01": 400, "02": 0}
    assert check_rules(votes, {}, domestic=True, registry_dpt=None, max_dpt=400) == []
    assert check_rules(votes, {}, domestic=True, registry_dpt=None, max_dpt=300) == [
        "count_exceeds_tps_cap"
    ]


@st.composite
def consistent_forms(draw: st.DrawFn) -> tuple[dict[str, int], dict[str, int], int | None, bool]:
    """A C.Hasil form whose sums all hold, with voters <= DPT + 2% <= 306."""
    dpt = draw(st.integers(0, MAX_DPT))
    dpt_men = draw(st.integers(0, dpt))
    voters = draw(st.integers(0, reserve_cap(dpt)))
    from_dpt = draw(st.integers(0, min(dpt, voters)))
    transferred = draw(st.integers(0, voters - from_dpt))
    id_card = voters - from_dpt - transferred
    men = draw(st.integers(0, voters))
    invalid = draw(st.integers(0, voters))
    valid = voters - invalid
    pairs = draw(st.integers(1, 4))
    votes: dict[str, int] = {}
    left = valid
    for i in range(1, pairs):
        votes[f"{i:02d}"] = share = draw(st.integers(0, left))
        left -= share
    votes[f"{pairs:02d}"] = left
    cap = reserve_cap(MAX_DPT)
    damaged = draw(st.integers(0, cap - voters))
    unused = draw(st.integers(0, cap - voters - damaged))
    fields: dict[str, Any] = {
        "dpt": dpt,
        "dpt_laki": dpt_men,
        "dpt_perempuan": dpt - dpt_men,
        "pengguna_dpt": from_dpt,
        "pengguna_dptb": transferred,
        "pengguna_dpk": id_card,
        "pengguna_hak_pilih": voters,
        "pengguna_hak_pilih_laki": men,
        "pengguna_hak_pilih_perempuan": voters - men,
        "suara_sah": valid,
        "suara_tidak_sah": invalid,
        "suara_total": voters,
        "surat_suara_diterima": voters + damaged + unused,
        "surat_suara_digunakan": voters,
        "surat_suara_rusak": damaged,
        "surat_suara_sisa": unused,
    }
    kept = draw(st.sets(st.sampled_from(sorted(fields))))
    present = {k: v for k, v in fields.items() if k in kept}
    registry_dpt = draw(st.sampled_from([dpt, None]))
    return votes, present, registry_dpt, draw(st.booleans())


@settings(max_examples=400, deadline=None)
@given(consistent_forms())
def test_a_consistent_form_breaks_no_rule(
    form: tuple[dict[str, int], dict[str, int], int | None, bool],
) -> None:
    votes, fields, registry_dpt, domestic = form
    assert _check(votes, fields, domestic=domestic, registry_dpt=registry_dpt) == []


# -- the columnar driver used by bulk import gives the same flags -------------------------

Form = tuple[dict[str, int], dict[str, int], int | None, bool]


def _columns_flags(forms: list[Form], *, omit_absent: bool) -> list[list[str]]:
    """Flags per form from check_rules_columns, as lists of rule ids."""
    choices = sorted({c for votes, _, _, _ in forms for c in votes})
    votes = np.array([[v.get(c, 0) for c in choices] for v, _, _, _ in forms], dtype=np.int64)
    votes = votes.reshape(len(forms), len(choices))
    columns = {}
    for name in FIELDS:
        present = np.array([name in f for _, f, _, _ in forms], dtype=bool)
        if omit_absent and not present.any():
            continue
        values = np.array([f.get(name, 0) for _, f, _, _ in forms], dtype=np.int64)
        columns[name] = (values, present)
    registry = (
        np.array([d or 0 for _, _, d, _ in forms], dtype=np.int64),
        np.array([d is not None for _, _, d, _ in forms], dtype=bool),
    )
    domestic = np.array([d for _, _, _, d in forms], dtype=bool)
    matrix = check_rules_columns(
        votes, columns, domestic=domestic, registry_dpt=registry, max_dpt=MAX_DPT
    )
    return [[r for r, hit in zip(RULE_IDS, row, strict=True) if hit] for row in matrix]


def test_columnar_rules_agree_on_every_case() -> None:
    forms: list[Form] = []
    for case in CASES:
        for domestic in (True, False):
            forms.append((case.votes, case.fields, case.registry_dpt, domestic))
            forms.append((VOTES, case.base, REGISTRY_DPT, domestic))
    expected = [_check(v, f, domestic=d, registry_dpt=r) for v, f, r, d in forms]
    assert _columns_flags(forms, omit_absent=False) == expected
    assert expected[0] == ["votes_sum_valid"]  # the cases do break rules


any_forms = st.tuples(
    st.fixed_dictionaries({"01": st.integers(0, 400), "02": st.integers(0, 400)}),
    st.dictionaries(st.sampled_from(sorted(FIELDS)), st.integers(0, 400)),
    st.none() | st.integers(0, MAX_DPT),
    st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(any_forms | consistent_forms(), min_size=1, max_size=12), st.booleans())
def test_columnar_rules_agree_with_single_form_rules(forms: list[Form], omit: bool) -> None:
    # Pad every form to the same choices, as one contest's ballot would be.
    choices = sorted({c for votes, _, _, _ in forms for c in votes})
    padded = [({c: v.get(c, 0) for c in choices}, f, r, d) for v, f, r, d in forms]
    expected = [_check(v, f, domestic=d, registry_dpt=r) for v, f, r, d in padded]
    assert _columns_flags(padded, omit_absent=omit) == expected
