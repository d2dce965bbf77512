"""Likely corrections (saksi.forensics.correction): known error shapes, planted edits, and
the 2019 Situng forms checked against KawalPemilu's copies."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import DATA, REPO
from saksi.forensics.correction import (
    RELATIONS,
    SECOND_ERROR,
    Correction,
    Form,
    Neighbourhood,
    Unsure,
    apply_changes,
    evidence,
    likely_correction,
    rank_corrections,
)
from saksi.ingest.fields import FIELDS
from saksi.ingest.rules import RULE_IDS, check_rules

sys.path.insert(0, str(REPO / "bench"))
from forensics_2019 import outcome, select_cases, situng_forms

TPS_DPT = 280


def form(
    one: int,
    two: int,
    *,
    valid: int | None = None,
    invalid: int = 3,
    voters: int | None = None,
    dpt: int | None = TPS_DPT,
) -> Form:
    """A PPWP form; valid and voters default to the consistent values."""
    valid = one + two if valid is None else valid
    voters = one + two + invalid if voters is None else voters
    fields = {"suara_sah": valid, "suara_tidak_sah": invalid, "pengguna_hak_pilih": voters}
    return Form({"01": one, "02": two}, fields, dpt)


def desa(share_01: float, count: int = 8) -> list[Form]:
    """Consistent neighbours with about ``share_01`` of the votes for 01."""
    out = []
    for i in range(count):
        valid = 200 + 7 * i
        one = round(valid * share_01) + (i % 3) - 1
        out.append(form(one, valid - one, invalid=2 + i % 3))
    return out


def broken_sums(candidate: Form) -> list[str]:
    found = check_rules(
        candidate.votes,
        candidate.fields,
        domestic=True,
        registry_dpt=candidate.dpt,
        max_dpt=300,
    )
    return [rule for rule in found if rule in RELATIONS]


# -- the rule table ---------------------------------------------------------------------


def consistent_full_form() -> dict[str, int]:
    return {
        "dpt": 250,
        "dpt_laki": 120,
        "dpt_perempuan": 130,
        "pengguna_dpt": 200,
        "pengguna_dptb": 3,
        "pengguna_dpk": 2,
        "pengguna_hak_pilih": 205,
        "pengguna_hak_pilih_laki": 100,
        "pengguna_hak_pilih_perempuan": 105,
        "suara_sah": 200,
        "suara_tidak_sah": 5,
        "suara_total": 205,
        "surat_suara_diterima": 255,
        "surat_suara_digunakan": 205,
        "surat_suara_rusak": 1,
        "surat_suara_sisa": 49,
    }


def test_relations_are_the_sum_rules_of_check_rules() -> None:
    votes = {"01": 120, "02": 80}
    fields = consistent_full_form()
    assert set(fields) == set(FIELDS)
    assert check_rules(votes, fields, domestic=True, registry_dpt=250, max_dpt=300) == []
    assert list(RELATIONS) == [rule for rule in RULE_IDS if rule in RELATIONS]
    for rule, (total, _) in RELATIONS.items():
        # Breaking a total breaks its own rule (and only sum rules that name it).
        bumped = {**fields, total: fields[total] + 1}
        found = check_rules(votes, bumped, domestic=True, registry_dpt=250, max_dpt=300)
        assert rule in found
        named = [r for r, (t, parts) in RELATIONS.items() if total == t or total in parts]
        assert [r for r in found if r in RELATIONS] == named


# -- known error shapes -----------------------------------------------------------------


def test_a_consistent_form_needs_no_correction() -> None:
    assert likely_correction(form(120, 80), neighbours=desa(0.6)) is None


def test_extra_digit_in_a_choice() -> None:
    # BRIEF: Situng showed 41 votes as 431.
    typed = form(431, 150, valid=191, voters=194)
    result = likely_correction(typed, neighbours=desa(0.25))
    assert isinstance(result, Correction)
    assert (result.field, result.value, result.edit) == ("01", 41, "digit_inserted")
    assert result.changes == {"01": 41}
    assert result.confidence >= 0.9
    assert result.remaining == ()


def test_wrong_total_found_from_page_one() -> None:
    # The votes agree with page 1 (voters - invalid), so suara_sah is the wrong field.
    typed = form(145, 103, valid=241, invalid=3, voters=251)
    result = likely_correction(typed, neighbours=desa(0.55))
    assert isinstance(result, Correction)
    assert (result.field, result.value, result.edit) == ("suara_sah", 248, "digit_substituted")


def test_valid_and_invalid_swapped() -> None:
    typed = form(113, 121, valid=3, invalid=234, voters=237)
    result = likely_correction(typed, neighbours=desa(0.5))
    assert isinstance(result, Correction)
    assert result.edit == "swapped"
    assert result.changes == {"suara_sah": 234, "suara_tidak_sah": 3}


def test_a_swap_on_a_form_of_many_choices() -> None:
    # A DPR form of 150 choices (parties and their candidates): valid votes and one
    # candidate's 2 votes swapped places. The swap is found among those that can mend the
    # sum (a swap of two choices never can).
    def dpr(number: int, changes: Mapping[str, int] = {}) -> Form:
        votes = {f"{i:03d}": (number * 7 + i * 13) % 3 for i in range(1, 151)}
        valid = sum(votes.values())
        fields = {"suara_sah": valid, "suara_tidak_sah": 4, "pengguna_hak_pilih": valid + 4}
        return apply_changes(Form(votes, fields, TPS_DPT, ("D", number)), changes)

    true = dpr(1)
    valid = true.fields["suara_sah"]
    assert true.votes["043"] == 2
    typed = dpr(1, {"043": valid, "suara_sah": 2})
    result = likely_correction(typed, neighbours=[dpr(n) for n in range(2, 9)])
    assert isinstance(result, Correction)
    assert result.edit == "swapped"
    assert result.changes == {"043": 2, "suara_sah": valid}


def test_zero_where_the_total_was_missing() -> None:
    typed = form(94, 96, valid=0, invalid=1, voters=191)
    result = likely_correction(typed, neighbours=desa(0.5))
    assert isinstance(result, Correction)
    assert (result.field, result.value, result.edit) == ("suara_sah", 190, "zero_for_missing")


def test_total_typed_into_a_choice() -> None:
    typed = form(212, 62, valid=212, invalid=2, voters=214)
    result = likely_correction(typed, neighbours=desa(0.7))
    assert isinstance(result, Correction)
    assert (result.field, result.value, result.edit) == ("01", 150, "total_in_choice")


def test_the_invalid_count_left_tells_the_wrong_total() -> None:
    # Every candidate leaves page 1 broken; suara_sah := 216 leaves 218 - 216 = 2 invalid
    # votes, a pair's fix leaves 23. Neighbours with about 1% invalid make the total the
    # likely wrong field; neighbours with about 11% invalid leave 01 or 02 as likely.
    typed = form(99, 117, valid=195, invalid=24, voters=218)
    high = [form(f.votes["01"], f.votes["02"], invalid=25) for f in desa(0.45)]
    ranked = rank_corrections(typed, neighbours=desa(0.45))
    assert ranked is not None
    assert (ranked[0].field, ranked[0].value) == ("suara_sah", 216)
    assert ranked[0].confidence > 0.8
    ranked = rank_corrections(typed, neighbours=high)
    assert ranked is not None
    assert ranked[0].field in {"01", "02"}


def stuffed_full_form(added: int) -> tuple[dict[str, int], dict[str, int]]:
    """consistent_full_form with ``added`` ballots for 01 carried through every total, as
    a stuffer writes them, past the 255 ballots the TPS received (DPT 250 + 2%)."""
    fields = consistent_full_form()
    for name in ("pengguna_hak_pilih", "suara_sah", "suara_total", "surat_suara_digunakan"):
        fields[name] += added
    fields["pengguna_dpt"] = fields["dpt"]
    fields["pengguna_dpk"] = fields["pengguna_hak_pilih"] - fields["dpt"] - 3
    fields["pengguna_hak_pilih_laki"] += added // 2
    fields["pengguna_hak_pilih_perempuan"] += added - added // 2
    fields["surat_suara_rusak"] = fields["surat_suara_sisa"] = 0
    return {"01": 120 + added, "02": 80}, fields


def test_stuffed_ballots_are_not_read_as_a_mistyped_ballots_received() -> None:
    votes, fields = stuffed_full_form(55)
    typed = Form(votes, fields, 250)
    assert broken_sums(typed) == ["ballot_accounting"]
    # Raising ballots received to the ballots used would mend the sum, but a TPS receives
    # DPT + 2% (255, as written), no more. Lowering the ballots used to 255 mends it too,
    # but breaks two sums that hold: it explains nothing the form shows.
    for neighbours in ([], desa(0.6)):
        result = likely_correction(typed, neighbours=neighbours)
        assert isinstance(result, Unsure)
        assert result.candidates
        for candidate in result.candidates:
            assert "surat_suara_diterima" not in candidate.changes
            assert candidate.confidence < 0.01


def test_ballots_received_mistyped_off_the_reserve_is_put_back_on_it() -> None:
    fields = {**consistent_full_form(), "surat_suara_diterima": 265}
    result = likely_correction(Form({"01": 120, "02": 80}, fields, 250))
    # Damaged 1 -> 11 or unused 49 -> 59 mend the sum as well, but leave 265 received
    # where DPT 250 + 2% is 255.
    assert isinstance(result, Correction)
    assert result.changes == {"surat_suara_diterima": 255}
    assert result.confidence >= 0.9


def test_the_dpt_written_on_the_form_counts_where_the_registrys_lags() -> None:
    # The registry says DPT 245 (cap 250); the form's own DPT 250 gives the 255 received.
    fields = {**consistent_full_form(), "surat_suara_diterima": 225}
    result = likely_correction(Form({"01": 120, "02": 80}, fields, 245))
    assert isinstance(result, Correction)
    assert result.changes == {"surat_suara_diterima": 255}


def test_two_equally_good_corrections_are_unsure() -> None:
    # 01 or 02 could each be one digit off by 5 and page 1 cannot tell them apart.
    typed = form(88, 139, valid=222, invalid=2, voters=224)
    result = likely_correction(typed, neighbours=desa(0.4))
    assert isinstance(result, Unsure)
    assert "two corrections fit" in result.reason
    assert {c.field for c in result.candidates[:2]} == {"01", "02"}
    ranked = rank_corrections(typed, neighbours=desa(0.4))
    assert ranked is not None
    assert sum(c.confidence for c in ranked) <= 1


def test_neighbours_with_close_tps_numbers_weigh_more() -> None:
    # 01 146 -> 136 or 02 97 -> 87: TPS 4 and 6 beside TPS 5 give 01 about 58%, six TPS
    # further along give it about 63%.
    def placed(share_01: float, numbers: list[int]) -> list[Form]:
        forms = zip(desa(share_01, len(numbers)), numbers, strict=True)
        return [Form(f.votes, f.fields, f.dpt, ("D", n)) for f, n in forms]

    near, far = placed(0.58, [4, 6]), placed(0.63, [1, 9, 10, 11, 12, 13])
    typed = form(146, 97, valid=233, invalid=2, voters=235)
    unplaced = rank_corrections(typed, neighbours=[*near, *far])
    assert unplaced is not None
    assert (unplaced[0].field, unplaced[0].value) == ("02", 87)
    here = Form(typed.votes, typed.fields, typed.dpt, ("D", 5))
    ranked = rank_corrections(here, neighbours=[*near, *far])
    assert ranked is not None
    assert (ranked[0].field, ranked[0].value) == ("01", 136)
    # In another desa the same numbers are no nearer than any other TPS there.
    elsewhere = Form(typed.votes, typed.fields, typed.dpt, ("E", 5))
    ranked = rank_corrections(elsewhere, neighbours=[*near, *far])
    assert ranked is not None
    assert (ranked[0].field, ranked[0].value) == ("02", 87)


def test_a_slip_copying_a_digit_of_the_block_is_the_likelier() -> None:
    # 01 139 -> 134 or 02 85 -> 80, both one units digit off; 01's typed 9 is the units
    # digit of suara_sah 219 just below it, 02's typed 5 stands nowhere else in the block.
    typed = form(139, 85, valid=219, invalid=1, voters=220)
    ranked = rank_corrections(typed)
    assert ranked is not None
    assert [(c.field, c.value) for c in ranked[:2]] == [("01", 134), ("02", 80)]
    assert ranked[0].confidence > 2 * ranked[1].confidence


def test_a_miscounted_total_may_be_carried_into_page_one() -> None:
    # The votes add up to 211, valid says 212 and page 1 agrees with 212: KPPS may have
    # miscounted and written the voters from the wrong sum, or a pair's units digit slipped.
    typed = form(120, 91, valid=212, invalid=3, voters=215)
    ranked = rank_corrections(typed, neighbours=desa(0.57))
    assert ranked is not None
    carried = [c for c in ranked if c.field == "suara_sah"]
    assert carried[0].changes == {"suara_sah": 211, "pengguna_hak_pilih": 214}
    assert carried[0].edit == "miscounted"
    assert {c.field for c in ranked[:3]} == {"01", "02", "suara_sah"}


def test_evidence_is_lower_when_the_form_needs_a_second_error() -> None:
    one_slip = form(431, 150, valid=191, voters=194)  # 41 typed as 431, page 1 holds
    two_errors = form(431, 150, valid=191, voters=197)  # and the voters are off too
    neighbours = desa(0.25)
    assert evidence(form(41, 150), neighbours=neighbours) is None  # nothing broken
    single = evidence(one_slip, neighbours=neighbours)
    double = evidence(two_errors, neighbours=neighbours)
    assert single is not None
    assert double is not None
    assert 0 < double < SECOND_ERROR * single


def test_choice_ids_must_not_clash_with_field_names() -> None:
    with pytest.raises(ValueError, match="overlap"):
        rank_corrections(Form({"suara_sah": 1}, {"suara_sah": 2}))


# -- planted edits ----------------------------------------------------------------------


def plant(value: int, kind: str, position: int, digit: int) -> int:
    text = str(value)
    i = position % len(text)
    if kind == "substitute":
        text = text[:i] + str(digit) + text[i + 1 :]
    elif kind == "insert":
        text = text[:i] + str(digit) + text[i:]
    elif kind == "delete" and len(text) > 1:
        text = text[:i] + text[i + 1 :]
    elif kind == "transpose" and len(text) > 1:
        i = min(i, len(text) - 2)
        text = text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    elif kind == "zero":
        text = "0"
    return int(text)


@settings(max_examples=300, deadline=None)
@given(
    share=st.floats(0.15, 0.85),
    turnout=st.floats(0.6, 0.95),
    dpt=st.integers(120, 300),
    invalid=st.integers(0, 8),
    target=st.sampled_from(["01", "02", "suara_sah"]),
    kind=st.sampled_from(["substitute", "insert", "delete", "transpose", "zero"]),
    position=st.integers(0, 3),
    digit=st.integers(0, 9),
)
def test_a_planted_edit_is_recovered_or_unsure(
    share: float,
    turnout: float,
    dpt: int,
    invalid: int,
    target: str,
    kind: str,
    position: int,
    digit: int,
) -> None:
    valid = max(1, round(dpt * turnout) - invalid)
    one = round(valid * share)
    truth = Form(
        {"01": one, "02": valid - one},
        {"suara_sah": valid, "suara_tidak_sah": invalid, "pengguna_hak_pilih": valid + invalid},
        dpt,
    )
    true_value = {**truth.votes, **truth.fields}[target]
    typed_value = plant(true_value, kind, position, digit)
    typed = apply_changes(truth, {target: typed_value})
    result = likely_correction(typed, neighbours=desa(share))
    if typed_value == true_value:
        assert result is None
        return
    assert result is not None
    if isinstance(result, Correction):
        assert (result.field, result.value) == (target, true_value)
        assert broken_sums(apply_changes(typed, result.changes)) == []
        assert 0.9 <= result.confidence <= 1


@settings(max_examples=200, deadline=None)
@given(
    one=st.integers(0, 299),
    two=st.integers(0, 299),
    valid=st.integers(0, 999),
    page_one=st.booleans(),
    neighbours=st.integers(0, 5),
)
def test_a_proposal_always_mends_the_broken_sum(
    one: int, two: int, valid: int, page_one: bool, neighbours: int
) -> None:
    fields = {"suara_sah": valid}
    if page_one:
        fields |= {"suara_tidak_sah": 2, "pengguna_hak_pilih": one + two + 2}
    typed = Form({"01": one, "02": two}, fields, None)
    result = likely_correction(typed, neighbours=desa(0.5, neighbours))
    if one + two == valid:
        assert result is None
        return
    assert result is not None
    if isinstance(result, Correction):
        assert "votes_sum_valid" not in broken_sums(apply_changes(typed, result.changes))
        assert result.typed == {**typed.votes, **typed.fields}[result.field]
    ranked = rank_corrections(typed, neighbours=desa(0.5, neighbours)) or []
    assert all(0 <= c.confidence <= 1 for c in ranked)


# -- the 2019 Situng forms --------------------------------------------------------------


@pytest.fixture(scope="module")
def outcomes_2019() -> tuple[int, Counter[str]]:
    cases = select_cases(DATA / "pemilu2019")
    assert len(cases) == 355
    assert sum(case.field == "suara_sah" for case in cases) == 222
    counts: Counter[str] = Counter()
    for case in cases:
        result = likely_correction(case.form, neighbours=case.neighbours, domestic=case.domestic)
        counts[outcome(case, result.changes if isinstance(result, Correction) else None)] += 1
    return len(cases), counts


def test_one_neighbourhood_serves_every_form_of_its_desa() -> None:
    # The report hands every broken form of a desa one Neighbourhood, built once: each
    # form must be weighed exactly as with a list of its own (which gets a Neighbourhood
    # of its own), in desa large and small and abroad.
    forms, by_desa = situng_forms(DATA / "pemilu2019")
    compared = 0
    for desa in ("25838", "26138", "53697", "-990014"):
        adding_up = [
            forms[t]
            for t in by_desa[desa]
            if sum(forms[t].votes.values()) == forms[t].fields.get("suara_sah")
        ]
        hood = Neighbourhood(adding_up)
        for tps_id in by_desa[desa]:
            domestic = not desa.startswith("-")
            plain = rank_corrections(forms[tps_id], neighbours=adding_up, domestic=domestic)
            shared = rank_corrections(forms[tps_id], neighbours=hood, domestic=domestic)
            assert shared == plain
            compared += plain is not None
    assert compared >= 4


def tie_in_field_order(typed: Form, neighbours: list[Form], value: int) -> str:
    """Assert that 01 and 02 at ``value`` lead, tied, 01 first; the unsure reason."""
    ranked = rank_corrections(typed, neighbours=neighbours)
    assert ranked is not None
    assert [(c.field, c.value) for c in ranked[:2]] == [("01", value), ("02", value)]
    assert ranked[0].confidence == pytest.approx(ranked[1].confidence, abs=1e-9)
    result = likely_correction(typed, neighbours=neighbours)
    assert isinstance(result, Unsure)
    return result.reason


def test_an_exact_tie_is_listed_in_field_order() -> None:
    # Neighbours in mirror-image pairs: 01 115 and 02 115 are the same slip against the
    # same model, so 01 comes first, and the message names it first.
    mirrored = [form(a, b) for a, b in ((110, 125), (125, 110), (98, 131), (131, 98))]
    reason = tie_in_field_order(form(119, 119, valid=234, invalid=3, voters=237), mirrored, 115)
    assert "01 119 -> 115" in reason.split(" or ")[0]


def test_a_tie_is_listed_in_field_order() -> None:
    # Situng has both pairs at 0 under 242 valid votes here: either could be the missing
    # one, equally likely up to rounding, which once put 02 first. The order, and so the
    # message, must not hang on rounding.
    forms, by_desa = situng_forms(DATA / "pemilu2019")
    neighbours = [forms[t] for t in by_desa["26138"] if t != "26138-019"]
    reason = tie_in_field_order(forms["26138-019"], neighbours, 242)
    assert "01 0 -> 242 (50%) or 02 0 -> 242 (50%)" in reason


def test_2019_corrections_are_rarely_wrong(outcomes_2019: tuple[int, Counter[str]]) -> None:
    n, counts = outcomes_2019
    assert counts["wrong"] <= 0.01 * n
    assert counts["right"] >= 0.69 * n  # measured 69.6%: guards against regressions


@pytest.mark.xfail(
    strict=True,
    reason="right is 69.6% of 355: most of the 105 unsure have 01 and 02 equally likely "
    "to be the wrong field (same amount, same edit shape, same page-1 support), or a sum "
    "off by one that is as likely a miscounted total as a pair's slip",
)
def test_2019_corrections_meet_the_issue_target(outcomes_2019: tuple[int, Counter[str]]) -> None:
    n, counts = outcomes_2019
    assert counts["right"] >= 0.70 * n
