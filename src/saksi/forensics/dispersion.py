"""Share tests across the TPS of a region: dispersion index, share–turnout correlation,
Klimek's fingerprint and spikes at round percentages.

Pure functions, no I/O. The dispersion index is the test for a "set" result: a share
fixed at, say, 57% at every TPS varies far less from TPS to TPS than binomial sampling
alone would make it, while real TPS vary far more.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import cast

import numpy as np
import numpy.typing as npt
from scipy import signal, special, stats  # type: ignore[import-untyped]

from saksi.forensics.statistics import (
    CorrelationResult,
    DispersionResult,
    Fingerprint,
    FloatArray,
    IntArray,
    RoundPercentResult,
    Seed,
    StatisticResult,
    as_generator,
)

__all__ = [
    "dispersion_index",
    "klimek_fingerprint",
    "round_percent_spikes",
    "share_tests",
    "share_turnout_correlation",
]

# Bootstrap replicates are drawn in blocks of at most this many (replicate, TPS) cells.
_BLOCK = 4_000_000


def _choice_and_valid(
    votes: npt.ArrayLike, valid_votes: npt.ArrayLike
) -> tuple[IntArray, IntArray]:
    x = np.asarray(votes, dtype=np.int64).ravel()
    n = np.asarray(valid_votes, dtype=np.int64).ravel()
    if x.shape != n.shape:
        raise ValueError(f"{x.size} vote counts for {n.size} valid-vote counts")
    if x.size and (x.min() < 0 or (x > n).any()):
        raise ValueError("a choice's votes must lie between 0 and the TPS's valid votes")
    return x, n


def _resample_sums(rng: Seed, features: FloatArray, n_bootstrap: int) -> FloatArray:
    """Bootstrap over TPS: column sums of ``features`` (one row per TPS) after resampling
    the TPS with replacement, one row per replicate. Each block of replicates is a matrix
    of resampling counts (how often each TPS was drawn) times ``features``, so any number
    of tests and choices share one resampling at the cost of one."""
    generator = as_generator(rng)
    k, columns = features.shape
    out = np.empty((n_bootstrap, columns))
    if k == 0:
        out.fill(np.nan)
        return out
    per_block = max(1, _BLOCK // k)
    for start in range(0, n_bootstrap, per_block):
        size = min(n_bootstrap, start + per_block) - start
        drawn = generator.integers(0, k, size=(size, k), dtype=np.int64)
        drawn += np.arange(size, dtype=np.int64)[:, None] * k
        times = np.bincount(drawn.ravel(), minlength=size * k).reshape(size, k)
        out[start : start + size] = times @ features
    return out


@dataclass(frozen=True)
class _Plan:
    """A test computed on the data, waiting for its bootstrap interval: ``features`` has
    one row per TPS of the region (zeros where the test leaves a TPS out), and ``finish``
    turns resampled column sums into the statistic's replicates."""

    result: StatisticResult
    features: FloatArray
    finish: Callable[[FloatArray], FloatArray]


def _with_intervals(
    plans: list[_Plan], rng: Seed, n_bootstrap: int, confidence: float
) -> list[StatisticResult]:
    """Each plan's result with its percentile interval, all from one resampling of TPS."""
    tested = [plan for plan in plans if not plan.result.skipped]
    if not tested:
        return [plan.result for plan in plans]
    sums = _resample_sums(rng, np.hstack([plan.features for plan in tested]), n_bootstrap)
    out = []
    column = 0
    for plan in plans:
        if plan.result.skipped:
            out.append(plan.result)
            continue
        width = plan.features.shape[1]
        with np.errstate(divide="ignore", invalid="ignore"):
            replicates = plan.finish(sums[:, column : column + width])
        column += width
        out.append(replace(plan.result, interval=_percentile_interval(replicates, confidence)))
    return out


def _percentile_interval(replicates: FloatArray, confidence: float) -> tuple[float, float] | None:
    finite = replicates[np.isfinite(replicates)]
    if finite.size == 0:
        return None
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(finite, [tail, 1.0 - tail])
    return float(low), float(high)


def dispersion_index(
    votes: npt.ArrayLike,
    valid_votes: npt.ArrayLike,
    *,
    rng: Seed,
    min_tps: int = 30,
    min_valid: int = 10,
    min_expected: float = 5.0,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
) -> DispersionResult:
    """Dispersion index of one choice's share across the TPS of a region.

    For TPS i with n_i valid votes and x_i for the choice, and pooled share
    p = sum(x) / sum(n), the index is Pearson's statistic over its degrees of freedom::

        D = sum_i (x_i - n_i p)^2 / (n_i p (1 - p)) / (k - 1)

    Under one share p at every TPS (binomial sampling only) D is about 1. Real TPS differ
    in who lives there, so real regions are over-dispersed (D well above 1: about 20 in
    the 2019 forms of DKI Jakarta, DIY and Bali). A share "set" to a value, each TPS's
    count rounded to within half a vote of it, leaves only rounding: D about
    1 / (12 n p (1 - p)), near 0.002 for 200 valid votes at 57%.

    Sources: the index of dispersion for binomial counts, Cochran (1954), "Some methods
    for strengthening the common chi-square tests", Biometrics 10(4); Fisher's
    variance test. Its use against a fixed share follows the Saksi brief (issue 7): "a
    fixed share shows up as a vote share that barely varies from TPS to TPS".

    p-value (``p_value``), for under-dispersion: the lower tail of the null distribution
    of the Pearson statistic. With small n_i p the statistic has more variance than the
    chi-square with k - 1 df, by sum (1 - 6pq) / (n_i pq) (Haldane (1937), "The exact value
    of the moments of the distribution of chi-square", Biometrika 29); the lower tail
    comes from a gamma matched to that mean and variance, which is the chi-square when
    the correction vanishes.

    Interval: percentile bootstrap over TPS resampled with replacement (``n_bootstrap``
    replicates, seeded by ``rng``), the pooled share recomputed in each.

    Inputs: ``votes`` and ``valid_votes`` per TPS of the region (the forms must keep
    0 <= votes <= valid votes). Minimum-size rules: TPS with fewer than ``min_valid`` (10)
    valid votes are left out (a special TPS of 5 voters adds noise, not information); at
    least ``min_tps`` (30) TPS must remain; and the median TPS must expect at least
    ``min_expected`` (5) votes for the choice and 5 against it (the usual chi-square
    rule: below that the discrete counts make the null distribution unreliable).

    Output: :class:`DispersionResult`: ``statistic`` D, ``interval``, ``p_value``,
    ``share`` p, ``chi_square`` and ``df``, ``n`` the TPS used.
    """
    plan = _dispersion_plan(
        votes, valid_votes, min_tps=min_tps, min_valid=min_valid, min_expected=min_expected
    )
    (result,) = _with_intervals([plan], rng, n_bootstrap, confidence)
    return cast(DispersionResult, result)


def _dispersion_plan(
    votes: npt.ArrayLike,
    valid_votes: npt.ArrayLike,
    *,
    min_tps: int = 30,
    min_valid: int = 10,
    min_expected: float = 5.0,
) -> _Plan:
    x_all, n_all = _choice_and_valid(votes, valid_votes)
    kept = n_all >= min_valid
    x, n = x_all[kept].astype(np.float64), n_all[kept].astype(np.float64)
    k = int(x.size)

    def skip(reason: str) -> _Plan:
        result = DispersionResult(
            test="dispersion",
            statistic=None,
            p_value=None,
            interval=None,
            n=k,
            skipped_reason=reason,
        )
        return _Plan(result, np.zeros((n_all.size, 0)), _no_replicates)

    if k < min_tps:
        return skip(f"only {k} TPS with {min_valid} or more valid votes; needs {min_tps}")
    p = float(x.sum() / n.sum())
    pq = p * (1.0 - p)
    smaller = min(p, 1.0 - p) * float(np.median(n))
    if smaller < min_expected:
        return skip(
            f"the median TPS expects {smaller:.1f} votes for or against this choice; "
            f"the test needs {min_expected:g}"
        )
    df = k - 1
    chi_square = float(((x - n * p) ** 2 / (n * pq)).sum())
    variance = 2.0 * df + float(((1.0 - 6.0 * pq) / (n * pq)).sum()) * df / k
    variance = max(variance, 0.5 * df)  # the correction is small; guard against nonsense
    p_value = float(stats.gamma.cdf(chi_square, a=df * df / variance, scale=variance / df))

    # Per TPS: x^2/n, x, n and 1, so that a replicate's statistic follows from sums alone:
    # sum (x - n p)^2 / n = sum x^2/n - (sum x)^2 / sum n, with p = sum x / sum n.
    features = np.zeros((n_all.size, 4))
    features[kept] = np.column_stack([x * x / n, x, n, np.ones(k)])
    result = DispersionResult(
        test="dispersion",
        statistic=chi_square / df,
        p_value=p_value,
        interval=None,
        n=k,
        share=p,
        chi_square=chi_square,
        df=df,
    )
    return _Plan(result, features, _dispersion_replicates)


def _dispersion_replicates(sums: FloatArray) -> FloatArray:
    squares, x, n, tps = sums.T
    share = x / n
    out: FloatArray = (squares - x * x / n) / (share * (1.0 - share)) / (tps - 1.0)
    return out


def _no_replicates(sums: FloatArray) -> FloatArray:
    return np.full(sums.shape[0], np.nan)


def _share_and_turnout(
    votes: npt.ArrayLike,
    valid_votes: npt.ArrayLike,
    voters: npt.ArrayLike,
    dpt: npt.ArrayLike,
) -> tuple[FloatArray, FloatArray]:
    """Share and turnout of the TPS that have valid votes and a known DPT."""
    x, n = _choice_and_valid(votes, valid_votes)
    voters_f = np.asarray(voters, dtype=np.float64).ravel()
    dpt_f = np.asarray(dpt, dtype=np.float64).ravel()
    if voters_f.shape != x.shape or dpt_f.shape != x.shape:
        raise ValueError("votes, valid_votes, voters and dpt need one entry per TPS")
    known = (n > 0) & np.isfinite(dpt_f) & (dpt_f > 0) & np.isfinite(voters_f)
    share: FloatArray = x[known] / n[known]
    turnout: FloatArray = voters_f[known] / dpt_f[known]
    return share, turnout


def share_turnout_correlation(
    votes: npt.ArrayLike,
    valid_votes: npt.ArrayLike,
    voters: npt.ArrayLike,
    dpt: npt.ArrayLike,
    *,
    method: str = "spearman",
    min_tps: int = 30,
    confidence: float = 0.95,
) -> CorrelationResult:
    """Correlation across TPS between a choice's share and turnout.

    Ballot stuffing adds voters and votes for one choice at once, so where it happens the
    share rises with turnout (Myagkov, Ordeshook & Shakin (2009), "The Forensics of
    Election Fraud: Russia and Ukraine", Cambridge UP; Klimek et al. (2012), see
    :func:`klimek_fingerprint`). A correlation alone is not fraud: in real elections
    share and turnout correlate through who lives where (towns vote less and
    differently), so this statistic is descriptive and raises no alarm.

    Inputs, per TPS: ``votes`` for the choice, ``valid_votes``, ``voters`` and ``dpt``
    (NaN or 0 where unknown; those TPS are left out). ``method``: "pearson" or
    "spearman". At least ``min_tps`` (30) TPS are needed.

    Output: :class:`CorrelationResult`; ``statistic`` r or rho, ``p_value`` two-sided
    (scipy), ``interval`` by Fisher's z: standard error 1/sqrt(k - 3) for Pearson,
    sqrt(1.06 / (k - 3)) for Spearman (Fieller, Hartley & Pearson (1957), Biometrika 44).
    """
    if method not in ("pearson", "spearman"):
        raise ValueError(f"unknown correlation method {method!r}: pearson or spearman")
    share, turnout = _share_and_turnout(votes, valid_votes, voters, dpt)
    k = int(share.size)
    reason = None
    if k < min_tps:
        reason = f"only {k} TPS with valid votes and a known DPT; needs {min_tps}"
    elif np.ptp(share) == 0 or np.ptp(turnout) == 0:
        reason = "share or turnout is the same at every TPS: no correlation is defined"
    if reason is not None:
        return CorrelationResult(
            test="share_turnout",
            statistic=None,
            p_value=None,
            interval=None,
            n=k,
            skipped_reason=reason,
            method=method,
        )
    if method == "pearson":
        found = stats.pearsonr(share, turnout)
        scale = 1.0
    else:
        found = stats.spearmanr(share, turnout)
        scale = 1.06
    r = float(found.statistic)
    spread = float(stats.norm.ppf(0.5 + confidence / 2.0)) * np.sqrt(scale / (k - 3))
    z = np.arctanh(np.clip(r, -0.999999, 0.999999))
    return CorrelationResult(
        test="share_turnout",
        statistic=r,
        p_value=float(found.pvalue),
        interval=(float(np.tanh(z - spread)), float(np.tanh(z + spread))),
        n=k,
        method=method,
    )


def klimek_fingerprint(
    votes: npt.ArrayLike,
    valid_votes: npt.ArrayLike,
    voters: npt.ArrayLike,
    dpt: npt.ArrayLike,
    *,
    choice: str = "",
    bins: int = 50,
) -> Fingerprint:
    """Klimek's election fingerprint: a 2-D histogram of TPS by turnout and share.

    Source: Klimek, Yegorov, Hanel & Thurner (2012), "Statistical detection of systematic
    election irregularities", PNAS 109(41). A clean election makes one smeared cloud;
    ballot stuffing drags a streak towards 100% turnout and high share, and a "set"
    share makes a horizontal line.

    Inputs per TPS as for :func:`share_turnout_correlation`; ``bins`` per axis over
    [0, 1]. Output: :class:`Fingerprint` (counts and bin edges, for plotting).
    """
    share, turnout = _share_and_turnout(votes, valid_votes, voters, dpt)
    above = int((turnout > 1.0).sum())
    counts, turnout_edges, share_edges = np.histogram2d(
        np.minimum(turnout, 1.0), share, bins=bins, range=[[0.0, 1.0], [0.0, 1.0]]
    )
    return Fingerprint(
        choice=choice,
        counts=tuple(tuple(int(c) for c in row) for row in counts),
        turnout_edges=tuple(float(e) for e in turnout_edges),
        share_edges=tuple(float(e) for e in share_edges),
        n=int(share.size),
        turnout_above_one=above,
        skipped_reason=None if share.size else "no TPS with valid votes and a known DPT",
    )


# Percents looked at around a TPS's own share: 30 either side is at least 6 binomial
# standard deviations once n > 100 (sd <= 50 / sqrt(n) percentage points).
_WINDOW = np.arange(-30, 31)


def _round_percent_counts(
    x: IntArray, n: IntArray
) -> tuple[IntArray, IntArray, IntArray, npt.NDArray[np.bool_]]:
    """Per TPS (row): the integer percents m near its share x/n, the lowest and highest
    count within half a vote of m percent of its n valid votes (|100 c - m n| <= 50, in
    integers: they differ only at an exact tie), and which entries are real percents
    0..100. Rows hold distinct counts when n > 100."""
    percents = np.rint(100.0 * x / n).astype(np.int64)[:, None] + _WINDOW[None, :]
    real = (percents >= 0) & (percents <= 100)
    percents = percents.clip(0, 100)
    exact = percents * n[:, None]
    lowest: IntArray = -((50 - exact) // 100)
    highest: IntArray = (exact + 50) // 100
    return percents, lowest, highest, real


def _poisson_binomial_pmf(probabilities: FloatArray) -> FloatArray:
    """Distribution of the number of successes of independent Bernoulli trials.

    Exact recursion within blocks of 64 trials (all blocks at once), then the blocks'
    distributions convolved pairwise; FFT convolution for long ones leaves absolute errors
    near 1e-16, so tail sums below about 1e-14 read as 0.
    """
    k = probabilities.size
    block = 64
    blocks = -(-k // block)
    padded = np.zeros(blocks * block)
    padded[:k] = probabilities
    trials = padded.reshape(blocks, block)
    mass = np.zeros((blocks, block + 1))
    mass[:, 0] = 1.0
    for j in range(block):
        p = trials[:, j : j + 1]
        mass[:, 1:] = mass[:, 1:] * (1.0 - p) + mass[:, :-1] * p
        mass[:, 0] *= 1.0 - p[:, 0]
    parts = list(mass)
    while len(parts) > 1:
        merged = [
            signal.fftconvolve(a, b) if a.size > 256 else np.convolve(a, b)
            for a, b in zip(parts[0::2], parts[1::2], strict=False)
        ]
        if len(parts) % 2:
            merged.append(parts[-1])
        parts = merged
    out: FloatArray = parts[0][: k + 1].clip(0.0, None)
    return out


def round_percent_spikes(
    votes: npt.ArrayLike,
    valid_votes: npt.ArrayLike,
    *,
    rng: Seed,
    min_tps: int = 30,
    min_valid: int = 101,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
) -> RoundPercentResult:
    """Spikes at round percentages: more TPS at an integer percent than chance gives.

    Source: Kobak, Shpilkin & Pshenichnikov (2016), "Integer percentages as electoral
    falsification fingerprints", Annals of Applied Statistics 10(1). A result written to
    order ("57%") lands on an integer percent; counted votes land there only by chance.

    A TPS is *at a round percent* when its count for the choice is within half a vote of
    some integer percent m of its valid votes n: |count - m·n/100| <= 1/2, in integers. How
    often chance does that depends on n (every count qualifies when n <= 100, one in
    three when n = 300), so the expected number is the sum over TPS of the probability
    of a hit under a smooth null: a binomial with the TPS's own n and observed share,
    as Kobak et al. smooth each station's count by binomial resampling. The p-value is
    the upper tail of the observed hits under that Poisson-binomial distribution.

    Inputs: ``votes`` and ``valid_votes`` per TPS; ``rng`` seeds the bootstrap.
    Minimum-size rules: only TPS with at least ``min_valid`` (101) valid votes, since
    below that every count is a hit and says nothing; at least ``min_tps`` (30) of them.

    Output: :class:`RoundPercentResult`; ``statistic`` observed / expected hits, with a
    percentile bootstrap interval over TPS; ``observed``, ``expected``, ``top_percents``.
    """
    plan = _round_percent_plan(votes, valid_votes, min_tps=min_tps, min_valid=min_valid)
    (result,) = _with_intervals([plan], rng, n_bootstrap, confidence)
    return cast(RoundPercentResult, result)


def _round_percent_plan(
    votes: npt.ArrayLike, valid_votes: npt.ArrayLike, *, min_tps: int = 30, min_valid: int = 101
) -> _Plan:
    x_all, n_all = _choice_and_valid(votes, valid_votes)
    kept = n_all >= min_valid
    x, n = x_all[kept], n_all[kept]
    k = int(x.size)
    if k < min_tps:
        result = RoundPercentResult(
            test="round_percent",
            statistic=None,
            p_value=None,
            interval=None,
            n=k,
            skipped_reason=f"only {k} TPS with {min_valid} or more valid votes; needs {min_tps}",
        )
        return _Plan(result, np.zeros((n_all.size, 0)), _no_replicates)
    percents, lowest, highest, real = _round_percent_counts(x, n)
    hit_at = (lowest <= x[:, None]) & (x[:, None] <= highest) & real
    hits = hit_at.any(axis=1)
    share = x / n
    mass = _binomial_mass(lowest, n[:, None], share[:, None])
    tie_row, tie_column = np.nonzero(highest > lowest)  # exactly half a vote either way
    mass[tie_row, tie_column] += _binomial_mass(
        highest[tie_row, tie_column], n[tie_row], share[tie_row]
    )
    chance = (mass * real).sum(axis=1).clip(0.0, 1.0)
    observed, expected = int(hits.sum()), float(chance.sum())
    p_value = float(_poisson_binomial_pmf(chance)[observed:].sum().clip(0.0, 1.0))
    percent_of_hit = percents[hits, np.argmax(hit_at[hits], axis=1)]
    top = sorted(Counter(percent_of_hit.tolist()).items(), key=lambda item: (-item[1], item[0]))
    result = RoundPercentResult(
        test="round_percent",
        statistic=observed / expected if expected > 0 else None,
        p_value=p_value,
        interval=None,
        n=k,
        observed=observed,
        expected=expected,
        top_percents=tuple((int(m), int(c)) for m, c in top[:5]),
    )
    features = np.zeros((n_all.size, 2))
    features[kept] = np.column_stack([hits.astype(np.float64), chance])
    return _Plan(result, features, _ratio_replicates)


def _ratio_replicates(sums: FloatArray) -> FloatArray:
    out: FloatArray = sums[:, 0] / sums[:, 1]
    return out


def _binomial_mass(counts: IntArray, n: IntArray, share: FloatArray) -> FloatArray:
    """Binomial(n, share) probability of ``counts`` (0 <= counts <= n), elementwise with
    broadcasting, through a table of log-factorials: several times faster than
    scipy.stats.binom."""
    log_factorial = special.gammaln(np.arange(int(np.max(n)) + 1) + 1.0)
    log_mass = (
        log_factorial[n]
        - log_factorial[counts]
        - log_factorial[n - counts]
        + special.xlogy(counts, share)
        + special.xlog1py(n - counts, -share)
    )
    out: FloatArray = np.exp(log_mass)
    return out


def share_tests(
    votes: Mapping[str, npt.ArrayLike],
    valid_votes: npt.ArrayLike,
    *,
    rng: Seed,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
) -> dict[str, StatisticResult]:
    """:func:`dispersion_index` and :func:`round_percent_spikes` for every choice of a
    region, with default minimum-size rules, all intervals from one resampling of TPS.

    Inputs: ``votes`` (choice id -> votes per TPS), ``valid_votes`` per TPS, ``rng`` and
    ``n_bootstrap`` as for the single tests. Output: results keyed ``dispersion:<choice>``
    and ``round_percent:<choice>``, choices in sorted order. Resampling once costs one
    test's bootstrap, not six; with the same ``rng`` each interval equals the single
    test's, up to floating-point rounding.
    """
    keys: list[str] = []
    plans: list[_Plan] = []
    for choice in sorted(votes):
        keys += [f"dispersion:{choice}", f"round_percent:{choice}"]
        plans += [
            _dispersion_plan(votes[choice], valid_votes),
            _round_percent_plan(votes[choice], valid_votes),
        ]
    results = _with_intervals(plans, rng, n_bootstrap, confidence)
    return dict(zip(keys, results, strict=True))
