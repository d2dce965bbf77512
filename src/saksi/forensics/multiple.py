"""Multiple-testing control across regions: Benjamini–Hochberg and Holm.

Pure functions, no I/O. With 514 kabupaten/kota and several tests each, some p-values
fall below 0.05 by chance alone; these procedures decide which ones to flag.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from saksi.forensics.statistics import FloatArray

__all__ = ["RegionFlag", "adjust_p_values", "benjamini_hochberg", "flag_regions", "holm"]

Method = Literal["bh", "holm"]


def _p_values(p_values: npt.ArrayLike) -> FloatArray:
    p: FloatArray = np.asarray(p_values, dtype=np.float64).ravel()
    if p.size and (np.isnan(p).any() or p.min() < 0.0 or p.max() > 1.0):
        raise ValueError("p-values must lie between 0 and 1")
    return p


def adjust_p_values(p_values: npt.ArrayLike, method: Method = "bh") -> FloatArray:
    """Adjusted p-values, in the input's order: flag where adjusted <= alpha.

    ``method`` "bh": Benjamini & Hochberg (1995), "Controlling the false discovery rate:
    a practical and powerful approach to multiple testing", JRSS B 57(1). The adjusted
    value of the i-th smallest of m p-values is min over j >= i of m p_(j) / j; flagging
    where it is <= alpha keeps the expected share of false flags among all flags at or
    below alpha (for independent or positively dependent tests).

    ``method`` "holm": Holm (1979), "A simple sequentially rejective multiple test
    procedure", Scandinavian Journal of Statistics 6(2). The adjusted value of the i-th
    smallest is max over j <= i of (m - j + 1) p_(j); flagging where it is <= alpha keeps
    the chance of even one false flag at or below alpha, under any dependence.

    Input: a 1-D array of p-values in [0, 1]. Output: adjusted p-values, capped at 1.
    """
    p = _p_values(p_values)
    m = p.size
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    ranked = p[order]
    ranks = np.arange(1, m + 1, dtype=np.float64)
    if method == "bh":
        adjusted = np.minimum.accumulate((ranked * m / ranks)[::-1])[::-1]
    elif method == "holm":
        adjusted = np.maximum.accumulate(ranked * (m - ranks + 1))
    else:
        raise ValueError(f"unknown method {method!r}: bh or holm")
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out


def benjamini_hochberg(p_values: npt.ArrayLike, alpha: float = 0.05) -> npt.NDArray[np.bool_]:
    """Which p-values the Benjamini–Hochberg procedure flags at false discovery rate
    ``alpha`` (see :func:`adjust_p_values`). Input: 1-D p-values; output: booleans."""
    flagged: npt.NDArray[np.bool_] = adjust_p_values(p_values, "bh") <= alpha
    return flagged


def holm(p_values: npt.ArrayLike, alpha: float = 0.05) -> npt.NDArray[np.bool_]:
    """Which p-values Holm's step-down procedure flags at family-wise error ``alpha``
    (see :func:`adjust_p_values`). Input: 1-D p-values; output: booleans."""
    flagged: npt.NDArray[np.bool_] = adjust_p_values(p_values, "holm") <= alpha
    return flagged


@dataclass(frozen=True)
class RegionFlag:
    """One flagged (region, test): its raw and adjusted p-values."""

    region: str
    test: str
    p_value: float
    adjusted_p_value: float

    def to_json(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "test": self.test,
            "p_value": self.p_value,
            "adjusted_p_value": self.adjusted_p_value,
        }


def flag_regions(
    p_values: Mapping[str, Mapping[str, float | None]],
    *,
    alpha: float = 0.05,
    method: Method = "bh",
) -> list[RegionFlag]:
    """The (region, test) pairs to flag, controlling errors across every region and test.

    Input: ``p_values[region][test]``, e.g. from
    :meth:`saksi.forensics.statistics.RegionStatistics.alarm_p_values`; None marks a test
    skipped by its minimum-size rule and takes no part. All the remaining p-values form
    one family: with "bh" (default) the expected share of false flags among the flags is
    at most ``alpha``; with "holm" the chance of any false flag is at most ``alpha``.
    In a clean election (every null true) either keeps the chance of any flag at all at
    or below ``alpha``.

    Output: the flagged pairs, sorted by adjusted p-value, then region and test.
    """
    keys = [
        (region, test, float(p))
        for region, tests in p_values.items()
        for test, p in tests.items()
        if p is not None
    ]
    adjusted = adjust_p_values([p for _, _, p in keys], method)
    flags = [
        RegionFlag(region, test, p, float(a))
        for (region, test, p), a in zip(keys, adjusted.tolist(), strict=True)
        if a <= alpha
    ]
    flags.sort(key=lambda f: (f.adjusted_p_value, f.region, f.test))
    return flags
