"""Digit tests: last digit (Beber & Scacco) and second-digit Benford (2BL, Mebane)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats  # type: ignore[import-untyped]

from saksi.forensics.digits import (
    BENFORD_SECOND_DIGIT,
    _second_digits,
    last_digit_test,
    second_digit_test,
)

counts_lists = st.lists(st.integers(0, 400), min_size=0, max_size=400)


def counted_votes(seed: int, tps: int = 600) -> np.ndarray:
    """Votes for three pairs (TPS x pair) at TPS of 100-300 valid votes, shares varying
    by TPS."""
    rng = np.random.default_rng(seed)
    valid = rng.integers(100, 301, tps)
    shares = rng.dirichlet([6.0, 10.0, 4.0], tps)
    return np.column_stack([rng.binomial(valid, shares[:, i]) for i in range(3)])


def test_benford_second_digit_law() -> None:
    assert BENFORD_SECOND_DIGIT.sum() == pytest.approx(1.0)
    assert BENFORD_SECOND_DIGIT[0] == pytest.approx(0.11968, abs=1e-5)
    assert BENFORD_SECOND_DIGIT[9] == pytest.approx(0.08500, abs=1e-5)
    assert BENFORD_SECOND_DIGIT @ np.arange(10) == pytest.approx(4.187, abs=1e-3)


def test_second_digits() -> None:
    values = np.array([10, 19, 57, 100, 149, 300, 999, 1000, 1234, 98765])
    assert _second_digits(values).tolist() == [0, 9, 7, 0, 4, 0, 9, 0, 2, 8]


def test_last_digit_clean_counts_pass() -> None:
    result = last_digit_test(counted_votes(1), rng=1)
    assert result.skipped_reason is None
    assert result.p_value is not None
    assert result.p_value > 0.05
    assert result.expected_statistic == pytest.approx(4.5, abs=0.1)
    assert result.interval is not None
    assert result.interval[0] <= result.statistic <= result.interval[1]  # type: ignore[operator]


def test_last_digit_finds_invented_numbers() -> None:
    """A quarter of the counts rounded to a multiple of 5, as a person inventing them might."""
    votes = counted_votes(2)
    rng = np.random.default_rng(2)
    invented = rng.random(votes.shape) < 0.25
    votes = np.where(invented, 5 * np.rint(votes / 5), votes).astype(np.int64)
    result = last_digit_test(votes, rng=2)
    assert result.p_value is not None
    assert result.p_value < 1e-10
    shares = np.array(result.digit_counts) / result.n
    assert shares[0] > 0.15
    assert shares[5] > 0.15


def test_last_digit_cut_correction() -> None:
    """A pair whose share varies widely (median 42 votes, 6% of TPS at 10-14): its counts
    are dense at the cut at 10, so exact uniformity alarms; the corrected expectation
    does not."""
    rng = np.random.default_rng(3)
    valid = rng.integers(150, 301, 20_000)
    votes = rng.binomial(valid, rng.beta(1.2, 4.0, valid.size))
    result = last_digit_test(votes, rng=3)
    assert result.expected_shares[0] > result.expected_shares[9] + 0.002
    assert result.p_value is not None
    assert result.p_value > 0.05
    uniform = np.full(10, 0.1)
    assert stats.chisquare(result.digit_counts, result.n * uniform).pvalue < 1e-4


def test_narrow_series_are_left_out() -> None:
    """A small pair (median 9 votes) has last digits shaped by its narrow band: over
    thousands of TPS that alone would alarm, so the median rule leaves it out."""
    rng = np.random.default_rng(8)
    valid = rng.integers(150, 301, 5000)
    small = rng.binomial(valid, 0.04)
    alone = last_digit_test(small, rng=8, min_median=0)
    assert alone.p_value is not None
    assert alone.p_value < 1e-10
    table = np.column_stack([small, rng.binomial(valid - small, 0.6)])
    result = last_digit_test(table, rng=8)
    assert result.n == int((table[:, 1] >= 10).sum())
    assert result.p_value is not None
    assert result.p_value > 0.05
    skipped = last_digit_test(small, rng=8)
    assert skipped.skipped_reason is not None
    assert "1 of 1 series have a median below 30" in skipped.skipped_reason


def test_minimum_size_rules() -> None:
    small = last_digit_test(list(range(10, 60)), rng=0)
    assert small.skipped_reason is not None
    assert "needs 100" in small.skipped_reason
    assert small.p_value is None
    assert small.n == 50
    one_digit = second_digit_test([3, 7, 9] * 200, rng=0)
    assert one_digit.skipped_reason is not None
    assert one_digit.n == 0
    with pytest.raises(ValueError, match="negative"):
        last_digit_test([-1, 20], rng=0)
    with pytest.raises(ValueError, match="second digit"):
        second_digit_test([20], rng=0, min_count=5)


def test_second_digit_benford_on_benford_data() -> None:
    """Counts spanning orders of magnitude, as Mebane's mixtures do, pass 2BL."""
    rng = np.random.default_rng(4)
    values = np.floor(10 ** rng.uniform(1, 5, 5000)).astype(np.int64)
    result = second_digit_test(values, rng=4)
    assert result.p_value is not None
    assert result.p_value > 0.05
    assert result.statistic == pytest.approx(4.187, abs=0.1)


def test_second_digit_weakness_on_tps_counts() -> None:
    """The stated weakness: clean, honestly counted TPS (two pairs near 50%, 150-300
    valid votes) put most counts in 70-160, whose second digits are not Benford's."""
    rng = np.random.default_rng(5)
    valid = rng.integers(150, 301, 2000)
    first = rng.binomial(valid, rng.beta(20, 20, valid.size))
    result = second_digit_test(np.column_stack([first, valid - first]), rng=5)
    assert result.p_value is not None
    assert result.p_value < 1e-6


def test_result_is_json_and_reproducible() -> None:
    votes = counted_votes(6)
    first = last_digit_test(votes, rng=6).to_json()
    assert first == last_digit_test(votes, rng=np.random.default_rng(6)).to_json()
    text = json.dumps(first)
    assert json.loads(text)["test"] == "last_digit"
    assert set(first) >= {"statistic", "p_value", "interval", "n", "skipped_reason"}


@settings(max_examples=60, deadline=None)
@given(counts_lists, st.randoms(use_true_random=False))
def test_permutation_invariance_and_p_values(counts: list[int], random: object) -> None:
    shuffled = list(counts)
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    for test in (last_digit_test, second_digit_test):
        a = test(counts, rng=0, min_values=20, n_bootstrap=50)
        b = test(shuffled, rng=0, min_values=20, n_bootstrap=50)
        assert a.to_json() == b.to_json()
        if a.p_value is not None:
            assert 0.0 <= a.p_value <= 1.0
            assert sum(a.digit_counts) == a.n
            assert sum(a.expected_shares) == pytest.approx(1.0)
