"""Share tests across TPS: dispersion index, round percentages, share–turnout, fingerprint."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats  # type: ignore[import-untyped]

from saksi.forensics.dispersion import (
    _poisson_binomial_pmf,
    dispersion_index,
    klimek_fingerprint,
    round_percent_spikes,
    share_tests,
    share_turnout_correlation,
)


def fixed_share(valid: np.ndarray, share: float = 0.57) -> np.ndarray:
    """Every TPS's count set to the nearest whole vote of ``share``, as the synthetic
    generator plants it: within half a vote."""
    return np.floor(valid * share + 0.5).astype(np.int64)


def realistic_valid(rng: np.random.Generator, tps: int) -> np.ndarray:
    return rng.integers(100, 301, tps)


def overdispersed(rng: np.random.Generator, valid: np.ndarray, share: float) -> np.ndarray:
    """Counted votes whose share varies from TPS to TPS as real ones do (logit sd 0.6)."""
    logit = np.log(share / (1 - share)) + rng.normal(0.0, 0.6, valid.size)
    return rng.binomial(valid, 1.0 / (1.0 + np.exp(-logit)))


# Dispersion index.


def test_fixed_share_of_200_tps_is_found() -> None:
    rng = np.random.default_rng(1)
    valid = realistic_valid(rng, 200)
    votes = fixed_share(valid)
    assert np.abs(votes - 0.57 * valid).max() <= 0.5
    result = dispersion_index(votes, valid, rng=1)
    assert result.n == 200
    assert result.df == 199
    assert result.statistic is not None
    assert result.statistic < 0.01
    assert result.p_value is not None
    assert result.p_value < 1e-100
    assert result.interval is not None
    assert result.interval[1] < 0.01
    assert result.share == pytest.approx(0.57, abs=0.005)


def test_fixed_share_with_any_rounding_is_found() -> None:
    """Rounded up, down or at random: still within a vote of the set share."""
    rng = np.random.default_rng(2)
    valid = realistic_valid(rng, 200)
    votes = np.floor(valid * 0.523 + rng.random(valid.size)).astype(np.int64)
    result = dispersion_index(votes, valid, rng=2)
    assert result.p_value is not None
    assert result.p_value < 1e-100


def test_clean_region_is_not_flagged() -> None:
    rng = np.random.default_rng(3)
    valid = realistic_valid(rng, 400)
    result = dispersion_index(overdispersed(rng, valid, 0.57), valid, rng=3)
    assert result.statistic is not None
    assert result.statistic > 5
    assert result.p_value is not None
    assert result.p_value > 0.5
    assert result.interval is not None
    assert result.interval[0] > 1


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    tps=st.integers(100, 600),
    share=st.floats(0.1, 0.9),
)
def test_binomial_variation_gives_index_near_one(seed: int, tps: int, share: float) -> None:
    rng = np.random.default_rng(seed)
    valid = rng.integers(10, 400, tps)
    result = dispersion_index(rng.binomial(valid, share), valid, rng=seed, n_bootstrap=100)
    assert result.statistic is not None
    assert result.p_value is not None
    # The index has standard deviation about sqrt(2 / df) under the null.
    assert abs(result.statistic - 1.0) < 6 * np.sqrt(2.0 / (result.n - 1)) + 0.05
    assert 0.0 <= result.p_value <= 1.0


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), tps=st.integers(0, 120))
def test_permutation_invariance(seed: int, tps: int) -> None:
    """The index and p-value do not depend on the order of the TPS (the bootstrap
    interval does, a little: the resampling draws positions)."""
    rng = np.random.default_rng(seed)
    valid = rng.integers(0, 300, tps)
    votes = rng.binomial(valid, rng.uniform(0.05, 0.95))
    order = rng.permutation(tps)
    a = dispersion_index(votes, valid, rng=0, n_bootstrap=50)
    b = dispersion_index(votes[order], valid[order], rng=0, n_bootstrap=50)
    assert a.skipped_reason == b.skipped_reason
    assert a.n == b.n
    if a.statistic is not None:
        assert a.statistic == pytest.approx(b.statistic)
        assert a.p_value == pytest.approx(b.p_value)
        assert 0.0 <= a.p_value <= 1.0  # type: ignore[operator]


def test_bootstrap_interval_is_seeded_and_covers() -> None:
    rng = np.random.default_rng(4)
    valid = realistic_valid(rng, 300)
    votes = overdispersed(rng, valid, 0.3)
    first = dispersion_index(votes, valid, rng=9)
    assert first == dispersion_index(votes, valid, rng=np.random.default_rng(9))
    assert first.interval != dispersion_index(votes, valid, rng=10).interval
    # Coverage: 95% intervals around the index of pure binomial data contain 1 mostly.
    covered = 0
    for seed in range(40):
        sample = np.random.default_rng(seed)
        n = sample.integers(50, 301, 300)
        interval = dispersion_index(sample.binomial(n, 0.4), n, rng=seed, n_bootstrap=300).interval
        assert interval is not None
        covered += interval[0] <= 1.0 <= interval[1]
    assert covered >= 34


def test_minimum_size_rules() -> None:
    few = dispersion_index([50] * 29, [100] * 29, rng=0)
    assert few.skipped_reason == "only 29 TPS with 10 or more valid votes; needs 30"
    tiny_tps = dispersion_index([1] * 100, [9] * 100, rng=0)
    assert tiny_tps.n == 0
    assert tiny_tps.skipped_reason is not None
    rare = dispersion_index([1] * 100, [150] * 100, rng=0)
    assert rare.skipped_reason is not None
    assert "expects 1.0 votes" in rare.skipped_reason
    assert json.loads(json.dumps(rare.to_json()))["statistic"] is None
    with pytest.raises(ValueError, match="between 0 and"):
        dispersion_index([101], [100], rng=0)
    with pytest.raises(ValueError, match="3 vote counts for 2"):
        dispersion_index([1, 2, 3], [10, 10], rng=0)


def test_small_shares_are_calibrated() -> None:
    """Pearson's statistic has a heavier lower tail than the chi-square when n p is small;
    the gamma matched to Haldane's variance keeps the false-alarm rate at 5%."""
    rng = np.random.default_rng(5)
    flagged = tested = 0
    for _ in range(600):
        valid = rng.integers(100, 301, int(rng.integers(30, 300)))
        result = dispersion_index(rng.binomial(valid, rng.uniform(0.03, 0.08)), valid, rng=0,
                                  n_bootstrap=1)  # fmt: skip
        if result.p_value is not None:
            tested += 1
            flagged += result.p_value <= 0.05
    assert tested > 500
    assert flagged / tested <= 0.05 + 2.33 * np.sqrt(0.05 * 0.95 / tested)


# Round percentages.


def test_round_percent_spike_of_a_fixed_share() -> None:
    rng = np.random.default_rng(6)
    valid = realistic_valid(rng, 200)
    result = round_percent_spikes(fixed_share(valid), valid, rng=6)
    kept = int((valid >= 101).sum())
    assert result.n == kept
    assert result.observed == kept
    assert result.expected is not None
    assert result.expected < 0.6 * kept
    assert result.p_value is not None
    assert result.p_value < 1e-20
    assert result.top_percents[0] == (57, kept)
    assert result.interval is not None
    assert result.interval[0] > 1.5


def test_round_percent_clean_region() -> None:
    rng = np.random.default_rng(7)
    valid = realistic_valid(rng, 2000)
    result = round_percent_spikes(overdispersed(rng, valid, 0.4), valid, rng=7)
    assert result.p_value is not None
    assert result.p_value > 0.05
    assert result.statistic == pytest.approx(1.0, abs=0.1)
    assert result.interval is not None
    assert result.interval[0] < 1.0 < result.interval[1]


def test_round_percent_leaves_out_small_tps() -> None:
    """At 100 valid votes or fewer every count is within half a vote of a round percent."""
    result = round_percent_spikes([30] * 500, [100] * 500, rng=0)
    assert result.n == 0
    assert result.skipped_reason is not None


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=300))
def test_poisson_binomial_matches_scipy(probabilities: list[float]) -> None:
    p = np.array(probabilities)
    ours = _poisson_binomial_pmf(p)
    assert ours.shape == (p.size + 1,)
    assert ours.sum() == pytest.approx(1.0)
    assert np.allclose(ours, stats.poisson_binom.pmf(np.arange(p.size + 1), p), atol=1e-12)


def test_share_tests_share_one_resampling() -> None:
    rng = np.random.default_rng(8)
    valid = realistic_valid(rng, 300)
    first = overdispersed(rng, valid, 0.55)
    votes = {"02": valid - first, "01": first}
    results = share_tests(votes, valid, rng=8, n_bootstrap=200)
    assert list(results) == ["dispersion:01", "round_percent:01", "dispersion:02",
                             "round_percent:02"]  # fmt: skip
    alone = dispersion_index(first, valid, rng=8, n_bootstrap=200)
    assert results["dispersion:01"].statistic == alone.statistic
    assert results["dispersion:01"].p_value == alone.p_value
    assert results["dispersion:01"].interval == pytest.approx(alone.interval, rel=1e-9)
    # With two pairs, the shares mirror each other: the same index for both.
    assert results["dispersion:02"].statistic == pytest.approx(alone.statistic)


# Share–turnout correlation and the fingerprint.


def stuffed_region(seed: int, tps: int = 500) -> tuple[np.ndarray, ...]:
    """A region where some TPS got extra ballots for pair 01: both turnout and share up."""
    rng = np.random.default_rng(seed)
    dpt = rng.integers(200, 301, tps)
    voters = rng.binomial(dpt, 0.75)
    valid = voters - rng.binomial(voters, 0.02)
    votes = overdispersed(rng, valid, 0.5)
    extra = np.where(rng.random(tps) < 0.3, (dpt - voters) * 0.8, 0).astype(np.int64)
    return votes + extra, valid + extra, voters + extra, dpt


def test_share_turnout_correlation() -> None:
    votes, valid, voters, dpt = stuffed_region(9)
    for method in ("pearson", "spearman"):
        result = share_turnout_correlation(votes, valid, voters, dpt, method=method)
        assert result.method == method
        assert result.n == 500
        assert result.statistic is not None
        assert result.statistic > 0.2
        assert result.p_value is not None
        assert result.p_value < 1e-6
        assert result.interval is not None
        assert result.interval[0] < result.statistic < result.interval[1]
    clean = share_turnout_correlation(votes[:0], valid[:0], voters[:0], dpt[:0])
    assert clean.skipped_reason is not None
    unknown_dpt = share_turnout_correlation(votes, valid, voters, np.full(500, np.nan))
    assert unknown_dpt.n == 0
    with pytest.raises(ValueError, match="pearson or spearman"):
        share_turnout_correlation(votes, valid, voters, dpt, method="kendall")


def test_klimek_fingerprint() -> None:
    votes, valid, voters, dpt = stuffed_region(10)
    voters = voters.copy()
    voters[:3] = dpt[:3] + 2  # voters on the additional lists: turnout above 100%
    fingerprint = klimek_fingerprint(votes, valid, voters, dpt, choice="01", bins=20)
    counts = np.array(fingerprint.counts)
    assert counts.shape == (20, 20)
    assert counts.sum() == fingerprint.n == 500
    assert fingerprint.turnout_above_one == 3
    assert counts[-1].sum() >= 3
    assert fingerprint.turnout_edges[0] == 0.0
    assert fingerprint.turnout_edges[-1] == 1.0
    assert len(fingerprint.share_edges) == 21
    plain = json.loads(json.dumps(fingerprint.to_json()))
    assert plain["choice"] == "01"
    assert len(plain["counts"]) == 20
