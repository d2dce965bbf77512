"""Forensics statistics per region: the result shapes, and one call that runs every test.

The tests themselves are pure functions on numpy arrays, in three modules:

- :mod:`saksi.forensics.digits`: last-digit test and the second-digit Benford test (2BL);
- :mod:`saksi.forensics.dispersion`: dispersion index of a choice's share against binomial
  variation, share–turnout correlation, Klimek's turnout × share fingerprint and spikes
  at round percentages;
- :mod:`saksi.forensics.multiple`: Benjamini–Hochberg and Holm across regions.

Every result serialises to a plain JSON dict with :meth:`StatisticResult.to_json`.
Anything random (bootstrap intervals) takes a seed or a ``numpy.random.Generator``, so
every interval can be drawn again from its published seed.

Which tests may raise a region-level alarm is :data:`ALARM_TESTS`: those whose false-alarm
rate on clean simulated regions was measured at or below the nominal level (see
``tests/forensics``). The second-digit Benford test and the share–turnout correlation are
reported but raise no alarm: TPS counts do not follow 2BL without fraud, and share and
turnout correlate in real elections for plain demographic reasons.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "ALARM_TESTS",
    "CorrelationResult",
    "DigitResult",
    "DispersionResult",
    "Fingerprint",
    "RegionStatistics",
    "RoundPercentResult",
    "Seed",
    "StatisticResult",
    "as_generator",
    "plot_statistics",
    "region_statistics",
]

Seed = int | np.random.Generator
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

# Test names whose p-values feed the region-level alarms (multiple-testing control).
ALARM_TESTS = ("last_digit", "dispersion", "round_percent")


def as_generator(rng: Seed) -> np.random.Generator:
    """A generator from a seed, or the generator itself: same seed, same intervals."""
    return np.random.default_rng(rng)


def _plain(value: Any) -> Any:
    """A JSON-ready copy of ``value``: numpy scalars and arrays become Python values,
    tuples become lists, and NaN or infinity becomes None (JSON has neither)."""
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True, kw_only=True)
class StatisticResult:
    """One test on one region.

    ``statistic`` is the test's estimate (its meaning is given per test), ``interval`` its
    confidence interval, ``p_value`` the test's p-value, ``n`` how many values or TPS the
    test used after the minimum-size rules. A skipped test has ``skipped_reason`` in plain
    words and None for the numbers.
    """

    test: str
    statistic: float | None
    p_value: float | None
    interval: tuple[float, float] | None
    n: int
    skipped_reason: str | None = None

    @property
    def skipped(self) -> bool:
        return self.skipped_reason is not None

    def to_json(self) -> dict[str, Any]:
        """A plain dict: ``json.dumps`` takes it as is."""
        out: dict[str, Any] = _plain({f.name: getattr(self, f.name) for f in fields(self)})
        return out


@dataclass(frozen=True, kw_only=True)
class DigitResult(StatisticResult):
    """A digit test: ``statistic`` is the mean digit with a bootstrap interval,
    ``expected_statistic`` its value under the null, ``p_value`` from Pearson's chi-square
    of the ten digit counts against ``expected_shares``. ``note`` states a test's known
    weakness, for whoever reads the figure."""

    expected_statistic: float | None = None
    note: str | None = None
    chi_square: float | None = None
    digit_counts: tuple[int, ...] = ()
    expected_shares: tuple[float, ...] = ()


@dataclass(frozen=True, kw_only=True)
class DispersionResult(StatisticResult):
    """``statistic`` is the dispersion index (1 under binomial variation, above 1 when TPS
    differ as real TPS do, far below 1 for a fixed share) with a bootstrap interval;
    ``p_value`` is the lower tail (under-dispersion). ``share`` is the pooled share."""

    share: float | None = None
    chi_square: float | None = None
    df: int | None = None


@dataclass(frozen=True, kw_only=True)
class CorrelationResult(StatisticResult):
    """``statistic`` is the correlation of share and turnout across TPS (``method``
    pearson or spearman), ``interval`` its Fisher-z interval, ``p_value`` two-sided."""

    method: str = "spearman"


@dataclass(frozen=True, kw_only=True)
class RoundPercentResult(StatisticResult):
    """``statistic`` is observed / expected TPS at a round percent, with a bootstrap
    interval; ``p_value`` is the upper tail of the expected count (Poisson binomial).
    ``top_percents`` lists the commonest round percents among the hits, as
    (percent, TPS) pairs."""

    observed: int | None = None
    expected: float | None = None
    top_percents: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, kw_only=True)
class Fingerprint:
    """Klimek's fingerprint: TPS counted on a turnout × share grid, for plotting.

    ``counts[i][j]`` is the number of TPS with turnout in ``[turnout_edges[i],
    turnout_edges[i+1])`` and share in ``[share_edges[j], share_edges[j+1])`` (the last bin
    of each axis is closed). Turnout above 1 (voters on the additional lists) is counted in
    the top turnout bin; ``turnout_above_one`` says how many.
    """

    choice: str
    counts: tuple[tuple[int, ...], ...]
    turnout_edges: tuple[float, ...]
    share_edges: tuple[float, ...]
    n: int
    turnout_above_one: int = 0
    skipped_reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = _plain({f.name: getattr(self, f.name) for f in fields(self)})
        return out


@dataclass(frozen=True)
class RegionStatistics:
    """Every test on one region. ``tests`` is keyed by test name, and by
    ``name:choice`` for the per-choice tests (e.g. ``dispersion:01``)."""

    tests: dict[str, StatisticResult] = field(default_factory=dict)
    fingerprints: dict[str, Fingerprint] = field(default_factory=dict)

    def alarm_p_values(self) -> dict[str, float | None]:
        """p-values of the tests in :data:`ALARM_TESTS`, None where a test was skipped:
        the input of :func:`saksi.forensics.multiple.flag_regions` for this region."""
        return {
            key: result.p_value
            for key, result in self.tests.items()
            if key.split(":")[0] in ALARM_TESTS
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "tests": {key: result.to_json() for key, result in self.tests.items()},
            "fingerprints": {key: fp.to_json() for key, fp in self.fingerprints.items()},
        }


def region_statistics(
    votes: Mapping[str, npt.ArrayLike],
    valid_votes: npt.ArrayLike,
    voters: npt.ArrayLike,
    dpt: npt.ArrayLike,
    *,
    rng: Seed,
    n_bootstrap: int = 1000,
) -> RegionStatistics:
    """Run every test on one region.

    Inputs, one entry per TPS of the region, forms that keep their own arithmetic:
    ``votes`` (choice id -> votes for that choice), ``valid_votes`` (suara_sah),
    ``voters`` (pengguna_hak_pilih) and ``dpt`` (registered voters; NaN or 0 where unknown,
    as abroad). ``rng`` seeds every bootstrap, ``n_bootstrap`` is the replicates per
    interval.

    Output: :class:`RegionStatistics` with ``last_digit`` and ``second_digit_benford`` on
    the votes of every choice (each choice one series), and per choice ``dispersion``,
    ``round_percent``, ``share_turnout`` (Spearman) and the fingerprint.
    """
    # Imported here: that module imports the result shapes above.
    from saksi.forensics.dispersion import share_tests, share_turnout_correlation

    generator = as_generator(rng)
    # The digit tests draw from the generator first, then the share tests.
    drawn = plot_statistics(votes, valid_votes, voters, dpt, rng=generator, n_bootstrap=n_bootstrap)
    per_choice = _per_choice(votes)
    tests = dict(drawn.tests)
    tests.update(share_tests(per_choice, valid_votes, rng=generator, n_bootstrap=n_bootstrap))
    for choice in sorted(per_choice):
        tests[f"share_turnout:{choice}"] = share_turnout_correlation(
            per_choice[choice], valid_votes, voters, dpt, method="spearman"
        )
    fingerprints = drawn.fingerprints
    return RegionStatistics(tests=dict(sorted(tests.items())), fingerprints=fingerprints)


def plot_statistics(
    votes: Mapping[str, npt.ArrayLike],
    valid_votes: npt.ArrayLike,
    voters: npt.ArrayLike,
    dpt: npt.ArrayLike,
    *,
    rng: Seed,
    n_bootstrap: int = 1000,
) -> RegionStatistics:
    """What the plots of a whole election need, from the inputs of
    :func:`region_statistics` pooled over every region: the two digit tests and each
    choice's fingerprint. The share tests are left out: pooled over regions a share
    varies with the region, so they would measure the map, and nationally they take
    twenty seconds."""
    from saksi.forensics.digits import last_digit_test, second_digit_test
    from saksi.forensics.dispersion import klimek_fingerprint

    generator = as_generator(rng)
    per_choice = _per_choice(votes)
    # TPS x choice: each choice's votes are one series for the digit tests.
    table = (
        np.column_stack([per_choice[c] for c in sorted(per_choice)])
        if per_choice
        else np.zeros((0, 0), dtype=np.int64)
    )
    tests: dict[str, StatisticResult] = {
        "last_digit": last_digit_test(table, rng=generator, n_bootstrap=n_bootstrap),
        "second_digit_benford": second_digit_test(table, rng=generator, n_bootstrap=n_bootstrap),
    }
    fingerprints = {
        choice: klimek_fingerprint(x, valid_votes, voters, dpt, choice=choice)
        for choice, x in sorted(per_choice.items())
    }
    return RegionStatistics(tests=tests, fingerprints=fingerprints)


def _per_choice(votes: Mapping[str, npt.ArrayLike]) -> dict[str, IntArray]:
    return {choice: np.asarray(v, dtype=np.int64).ravel() for choice, v in votes.items()}
