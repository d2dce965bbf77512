"""Digit tests on vote counts: the last-digit test and the second-digit Benford test (2BL).

Pure functions, no I/O. Digit tests look for numbers a person wrote instead of counted;
they do not see a share that was "set" while the counts stay plausible. That is the
dispersion index's job (:mod:`saksi.forensics.dispersion`).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt
from scipy import stats  # type: ignore[import-untyped]

from saksi.forensics.statistics import DigitResult, FloatArray, IntArray, Seed, as_generator

__all__ = ["BENFORD_SECOND_DIGIT", "SECOND_DIGIT_NOTE", "last_digit_test", "second_digit_test"]

# Benford's law for the second significant digit d: sum over first digits k of
# log10(1 + 1/(10k + d)). Mean 4.187.
BENFORD_SECOND_DIGIT: FloatArray = np.array(
    [sum(np.log10(1.0 + 1.0 / (10 * k + d)) for k in range(1, 10)) for d in range(10)]
)
_DIGITS = np.arange(10, dtype=np.float64)
# A moving average over one full period of the last digit (11 taps, half weight at the
# ends): it removes every digit preference and keeps any linear trend of the counts.
_PERIOD_KERNEL = np.array([0.5, *([1.0] * 9), 0.5]) / 10.0


def _counts(values: npt.ArrayLike) -> IntArray:
    counts = np.asarray(values, dtype=np.int64).ravel()
    if counts.size and counts.min() < 0:
        raise ValueError("vote counts must not be negative")
    return counts


def _digit_result(
    test: str,
    digits: IntArray,
    expected_shares: FloatArray,
    *,
    rng: Seed,
    n_bootstrap: int,
    confidence: float,
) -> DigitResult:
    """Chi-square of the digit counts against ``expected_shares`` (9 df), and the mean
    digit with a percentile bootstrap interval (resampling the values, seeded)."""
    n = int(digits.size)
    observed = np.bincount(digits, minlength=10)
    expected = n * expected_shares
    chi_square = float(((observed - expected) ** 2 / expected).sum())
    p_value = float(stats.chi2.sf(chi_square, df=9))
    generator = as_generator(rng)
    # Resampling n values with replacement draws the ten digit counts as a multinomial.
    replicates = generator.multinomial(n, observed / n, size=n_bootstrap) @ _DIGITS / n
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(replicates, [tail, 1.0 - tail])
    return DigitResult(
        test=test,
        statistic=float(observed @ _DIGITS / n),
        p_value=p_value,
        interval=(float(low), float(high)),
        n=n,
        expected_statistic=float(expected_shares @ _DIGITS),
        chi_square=chi_square,
        digit_counts=tuple(int(c) for c in observed),
        expected_shares=tuple(float(s) for s in expected_shares),
    )


def _last_digit_shares(counts: IntArray, min_count: int) -> FloatArray:
    """Expected last-digit shares of the counts >= ``min_count``.

    Uniform, except for the mass the cut at ``min_count`` leaves just above it: when the
    counts thin out towards the cut, the low last digits of the first decade kept are
    more common, and a chi-square against exact uniformity alarms on clean data. The
    counts' histogram is smoothed over one full period (which keeps trends and removes
    digit preferences) and the smoothed mass above the cut is split by last digit. Far
    from the cut every count spreads evenly over the ten digits, so this is uniform there.
    """
    histogram = np.bincount(counts, minlength=int(counts.max()) + 6).astype(np.float64)
    smoothed = np.convolve(histogram, _PERIOD_KERNEL, mode="same")
    values = np.arange(histogram.size)
    kept = values >= min_count
    shares = np.bincount(values[kept] % 10, weights=smoothed[kept], minlength=10)
    out: FloatArray = shares / shares.sum()
    return out


def _series(counts: npt.ArrayLike) -> list[IntArray]:
    """The counts as series: a 1-D array is one, a 2-D array one per column."""
    array = np.asarray(counts, dtype=np.int64)
    if array.ndim > 2:
        raise ValueError("vote counts must be 1-D (one series) or 2-D (one column per series)")
    columns = [array] if array.ndim < 2 else list(array.T)
    return [_counts(column) for column in columns]


def last_digit_test(
    counts: npt.ArrayLike,
    *,
    rng: Seed,
    min_count: int = 10,
    min_median: float = 30.0,
    min_values: int = 100,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
) -> DigitResult:
    """Last-digit test: are the last digits of the vote counts uniform?

    Source: Beber & Scacco (2012), "What the numbers say: a digit-based test for election
    fraud", Political Analysis 20(2). People who invent numbers favour some last digits
    (0 and 5, or avoid repeats); counted votes spread over a wide range have uniform last
    digits.

    Inputs: ``counts``, the vote counts of one region: 1-D for one series, or 2-D with
    one column per series (TPS x choice: each choice's votes are a series);
    ``rng`` the bootstrap seed.

    Minimum-size rules, and why:

    - a series takes part only if its median count is at least ``min_median`` (30):
      a narrow band of small counts (a pair with 4% has 5–15 votes at most TPS) has
      last digits that follow the band's shape, not a uniform law, and over thousands
      of TPS the chi-square sees that shape as a deviation;
    - only counts >= ``min_count`` (10) are used: a one-digit count *is* its last digit;
    - at least ``min_values`` (100) counts must remain: the chi-square with 10 cells
      wants 10 expected per cell, and fewer values say nothing.

    The expected shares are uniform with a correction at the cut (see
    ``_last_digit_shares``): without it, counts thinning out just above 10 make low
    digits common without any fraud.

    Output: :class:`DigitResult`; ``statistic`` the mean last digit (bootstrap interval),
    ``expected_statistic`` about 4.5, ``p_value`` from the chi-square with 9 df.
    """
    if min_count < 5:
        raise ValueError("min_count must be at least 5 (the smoothing reaches 5 below it)")
    series = _series(counts)
    broad = [s for s in series if s.size and float(np.median(s)) >= min_median]
    values = np.concatenate(broad) if broad else np.zeros(0, dtype=np.int64)
    kept = values[values >= min_count]
    if kept.size < min_values:
        narrow = len(series) - len(broad)
        because = f" ({narrow} of {len(series)} series have a median below {min_median:g})"
        return DigitResult(
            test="last_digit",
            statistic=None,
            p_value=None,
            interval=None,
            n=int(kept.size),
            skipped_reason=(
                f"only {kept.size} vote counts of {min_count} or more"
                f"{because if narrow else ''}; the last-digit test needs {min_values}"
            ),
        )
    return _digit_result(
        "last_digit",
        kept % 10,
        _last_digit_shares(values, min_count),
        rng=rng,
        n_bootstrap=n_bootstrap,
        confidence=confidence,
    )


def _second_digits(values: IntArray) -> IntArray:
    """The second significant digit of each value (all >= 10)."""
    power = np.ones_like(values)
    while True:
        more = values // (power * 100) > 0
        if not more.any():
            break
        power = np.where(more, power * 10, power)
    out: IntArray = (values // power) % 10
    return out


SECOND_DIGIT_NOTE = (
    "counts from TPS of at most 300 voters do not follow Benford's second-digit law even "
    "without fraud, and fraud need not break it: shown beside the literature, never an alarm"
)


def second_digit_test(
    counts: npt.ArrayLike,
    *,
    rng: Seed,
    min_count: int = 10,
    min_values: int = 100,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
) -> DigitResult:
    """Second-digit Benford test (2BL): do the second digits follow Benford's law?

    Source: Mebane (2006), "Election forensics: vote counts and Benford's law", and
    Mebane (2011), "Comment on 'Benford's law and the detection of election fraud'",
    Political Analysis 19(3). The expected mean second digit is 4.187.

    Known weakness, stated plainly: **counts from small units do not follow 2BL, with or
    without fraud.** A domestic TPS has at most 300 voters, so a pair's votes sit in a
    band (often 50–200) whose second digits follow the shape of that band, not Benford's
    law; a region of clean TPS deviates from 2BL, often significantly. Deckert, Myagkov &
    Ordeshook (2011), "Benford's law and the detection of election fraud", Political
    Analysis 19(3), show 2BL both flags clean elections and misses fraud. So this test is
    reported for comparison with the literature and raises no alarm
    (:data:`saksi.forensics.statistics.ALARM_TESTS`).

    Inputs: ``counts``, vote counts of one region, 1-D or 2-D (TPS x choice) as for
    :func:`last_digit_test`; ``rng`` the bootstrap seed. Only counts
    >= ``min_count`` (10: a second digit must exist) are used, and at least
    ``min_values`` (100) of them, as for the last-digit test.

    Output: :class:`DigitResult`; ``statistic`` the mean second digit (bootstrap
    interval), ``expected_statistic`` 4.187, ``p_value`` from the chi-square with 9 df.
    """
    if min_count < 10:
        raise ValueError("min_count must be at least 10: a count needs a second digit")
    values = np.concatenate(_series(counts))
    kept = values[values >= min_count]
    if kept.size < min_values:
        return DigitResult(
            test="second_digit_benford",
            statistic=None,
            p_value=None,
            interval=None,
            n=int(kept.size),
            skipped_reason=(
                f"only {kept.size} vote counts of {min_count} or more; "
                f"the second-digit test needs {min_values}"
            ),
            note=SECOND_DIGIT_NOTE,
        )
    result = _digit_result(
        "second_digit_benford",
        _second_digits(kept),
        BENFORD_SECOND_DIGIT,
        rng=rng,
        n_bootstrap=n_bootstrap,
        confidence=confidence,
    )
    return dataclasses.replace(result, note=SECOND_DIGIT_NOTE)
