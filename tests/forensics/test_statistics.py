"""Region statistics as a whole: result shapes, multiple-testing control, calibration on
clean simulated regions, and the synthetic generator's planted fixed shares."""

from __future__ import annotations

import json

import numpy as np
import numpy.typing as npt
import pytest
from scipy import stats  # type: ignore[import-untyped]

from saksi.examples import synthetic
from saksi.forensics import digits, dispersion, multiple, statistics
from saksi.forensics.multiple import (
    adjust_p_values,
    benjamini_hochberg,
    flag_regions,
    holm,
)
from saksi.forensics.statistics import ALARM_TESTS, RegionStatistics, region_statistics
from saksi.registry.model import Level, Region

ALPHA = 0.05


def expit(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    out: npt.NDArray[np.float64] = 1.0 / (1.0 + np.exp(-x))
    return out


def clean_region(
    rng: np.random.Generator, tps: int, *, homogeneous: bool = False
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    """One kabupaten of counted votes, drawn as the synthetic generator draws them: DPT
    300 - Gamma(1.3, 38), turnout and shares on the logit scale with kecamatan effects
    (about 20 TPS each) and Student t(4) TPS noise. ``homogeneous``: one share for every
    TPS, binomial variation only (the dispersion test's exact null)."""
    dpt = np.clip(300 - np.floor(rng.gamma(1.3, 38.0, tps)).astype(np.int64), 40, 300)
    kecamatan = rng.integers(0, tps // 20 + 1, tps)
    turnout = (
        1.77
        + rng.normal(0.0, 0.5)
        + rng.normal(0.0, 0.29, tps // 20 + 1)[kecamatan]
        + rng.standard_t(4, tps) * 0.44
    )
    voters = rng.binomial(dpt, expit(turnout))
    valid = voters - rng.binomial(voters, expit(rng.normal(-4.28, 0.86, tps)))
    base = np.array([np.log(0.25 / 0.58), np.log(0.16 / 0.58)]) + rng.normal(0.0, 0.9, 2)
    eta = np.broadcast_to(base, (tps, 2)).copy()
    if not homogeneous:
        eta += rng.normal(0.0, 0.31, (tps // 20 + 1, 2))[kecamatan]
        eta += rng.standard_t(4, (tps, 2)) * 0.565
    weight = np.exp(eta)
    first = rng.binomial(valid, weight[:, 0] / (1.0 + weight.sum(axis=1)))
    third = rng.binomial(valid - first, weight[:, 1] / (1.0 + weight[:, 1]))
    return {"01": first, "02": valid - first - third, "03": third}, valid, voters, dpt


def flag_rates(homogeneous: bool, regions: int = 500) -> dict[str, tuple[int, int]]:
    """Per test name (choices merged): (regions tested, regions with p <= ALPHA)."""
    rng = np.random.default_rng(2024 + homogeneous)
    out: dict[str, list[int]] = {}
    for seed in range(regions):
        found = region_statistics(
            *clean_region(rng, int(rng.integers(30, 300)), homogeneous=homogeneous),
            rng=seed,
            n_bootstrap=10,
        )
        for key, result in found.tests.items():
            tally = out.setdefault(key.split(":")[0], [0, 0])
            if result.p_value is not None:
                tally[0] += 1
                tally[1] += result.p_value <= ALPHA
    return {name: (tested, flagged) for name, (tested, flagged) in out.items()}


def upper_margin(tested: int) -> float:
    """ALPHA plus a one-sided 99% binomial margin for ``tested`` trials."""
    return ALPHA + 2.33 * float(np.sqrt(ALPHA * (1 - ALPHA) / tested))


# Result shapes.


def test_region_statistics_shape_and_json() -> None:
    votes, valid, voters, dpt = clean_region(np.random.default_rng(1), 400)
    dpt = dpt.astype(np.float64)
    dpt[:10] = np.nan  # unknown DPT: left out of turnout, kept elsewhere
    found = region_statistics(votes, valid, voters, dpt, rng=1, n_bootstrap=200)
    assert list(found.tests) == sorted(found.tests)
    assert set(found.tests) == {
        "last_digit",
        "second_digit_benford",
        *(f"{test}:{c}" for test in ("dispersion", "round_percent", "share_turnout")
          for c in ("01", "02", "03")),
    }  # fmt: skip
    assert found.tests["share_turnout:01"].n == 390
    assert found.tests["dispersion:01"].n == 400
    plain = json.loads(json.dumps(found.to_json(), allow_nan=False))
    assert set(plain) == {"tests", "fingerprints"}
    for result in plain["tests"].values():
        assert {"test", "statistic", "p_value", "interval", "n", "skipped_reason"} <= set(result)
    assert set(plain["fingerprints"]) == {"01", "02", "03"}
    assert found == region_statistics(votes, valid, voters, dpt, rng=1, n_bootstrap=200)


def test_alarm_tests() -> None:
    """2BL and the share–turnout correlation are reported, not alarmed on."""
    assert ALARM_TESTS == ("last_digit", "dispersion", "round_percent")
    found = region_statistics(*clean_region(np.random.default_rng(2), 100), rng=2)
    assert set(found.alarm_p_values()) == {
        "last_digit",
        *(f"{test}:{c}" for test in ("dispersion", "round_percent") for c in ("01", "02", "03")),
    }
    empty = RegionStatistics()
    assert empty.alarm_p_values() == {}
    assert empty.to_json() == {"tests": {}, "fingerprints": {}}


def test_public_names() -> None:
    for module in (statistics, digits, dispersion, multiple):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"


# Multiple-testing control.

# Benjamini & Hochberg (1995), section 4.2: 15 p-values from a clinical trial.
BH_EXAMPLE = [
    0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344,
    0.0459, 0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.0000,
]  # fmt: skip


def test_benjamini_hochberg_paper_example() -> None:
    """The paper's example: BH at 0.05 rejects the four smallest; Holm only three."""
    assert benjamini_hochberg(BH_EXAMPLE).tolist() == [True] * 4 + [False] * 11
    assert holm(BH_EXAMPLE).tolist() == [True] * 3 + [False] * 12
    shuffled = np.random.default_rng(0).permutation(BH_EXAMPLE)
    assert np.allclose(adjust_p_values(shuffled), stats.false_discovery_control(shuffled))
    assert np.allclose(
        adjust_p_values(shuffled, "holm"),
        np.minimum(1, np.maximum.accumulate(np.sort(shuffled) * np.arange(15, 0, -1)))[
            np.argsort(np.argsort(shuffled))
        ],
    )
    assert adjust_p_values([]).size == 0
    with pytest.raises(ValueError, match="between 0 and 1"):
        adjust_p_values([0.5, 1.5])
    with pytest.raises(ValueError, match="bh or holm"):
        adjust_p_values([0.5], "bonferroni")  # type: ignore[arg-type]


def test_false_discovery_and_family_wise_rates() -> None:
    """100 tests, 80 true nulls: BH keeps the mean share of false flags near 0.05 * 0.8;
    under the global null Holm and BH flag anything at all in at most 5% of runs."""
    rng = np.random.default_rng(3)
    runs = 400
    false_share = []
    any_flag_holm = any_flag_bh = 0
    for _ in range(runs):
        null = rng.random(80)
        signal = stats.norm.sf(rng.normal(3.0, 1.0, 20))
        flagged = benjamini_hochberg(np.concatenate([null, signal]))
        false_share.append(flagged[:80].sum() / max(flagged.sum(), 1))
        global_null = rng.random(100)
        any_flag_holm += int(holm(global_null).any())
        any_flag_bh += int(benjamini_hochberg(global_null).any())
    assert np.mean(false_share) <= ALPHA * 0.8 + 0.01
    assert any_flag_holm / runs <= upper_margin(runs)
    assert any_flag_bh / runs <= upper_margin(runs)


def test_flag_regions() -> None:
    p_values: dict[str, dict[str, float | None]] = {
        "3101": {"dispersion:01": 1e-30, "last_digit": 0.2},
        "3102": {"dispersion:01": 0.9, "last_digit": None},
        "3103": {"dispersion:01": 0.004, "last_digit": 0.02},
    }
    flags = flag_regions(p_values)
    assert [(f.region, f.test) for f in flags] == [
        ("3101", "dispersion:01"),
        ("3103", "dispersion:01"),
        ("3103", "last_digit"),
    ]
    assert (flags[0].region, flags[0].test, flags[0].p_value) == ("3101", "dispersion:01", 1e-30)
    assert flags[0].adjusted_p_value == pytest.approx(5e-30)
    assert flags[1].adjusted_p_value == pytest.approx(0.004 * 5 / 2)
    assert json.loads(json.dumps(flags[0].to_json()))["region"] == "3101"
    assert [(f.region, f.test) for f in flag_regions(p_values, method="holm")] == [
        ("3101", "dispersion:01"),
        ("3103", "dispersion:01"),
    ]
    assert flag_regions({}) == []


# Calibration on clean regions.


def test_calibration_on_clean_regions() -> None:
    """500 clean regions of 30-300 TPS drawn like the synthetic generator's (shares that
    vary by kecamatan and TPS). Each alarm test flags at most ALPHA of what it tests (per
    region, and per region and choice for the per-choice tests), up to a binomial margin;
    the dispersion test flags nothing, real variation being far above binomial.

    Measured (seeded), flagged / tested: last_digit 22/458 (0.048), dispersion 0/1498,
    round_percent 66/1491 (0.044). Not alarm tests: second_digit_benford 101/479 (0.211),
    the stated weakness of 2BL on TPS counts; share_turnout 156/1500 (0.104), because
    kecamatan effects on both share and turnout make TPS dependent, so its p-value is too
    small even here where the two are drawn independently.
    """
    rates = flag_rates(homogeneous=False)
    for name in ALARM_TESTS:
        tested, flagged = rates[name]
        assert tested >= 400, name
        assert flagged / tested <= upper_margin(tested), (name, flagged, tested)
    assert rates["dispersion"][1] == 0
    benford_tested, benford_flagged = rates["second_digit_benford"]
    assert benford_flagged / benford_tested > 0.1  # the stated weakness, measured


def test_calibration_under_the_exact_null() -> None:
    """500 regions with one share per region: pure binomial variation, the dispersion
    test's exact null, where its rate must be ALPHA itself. Flag rates stay within the
    binomial margin. Measured (seeded), flagged / tested: last_digit 22/466 (0.047),
    dispersion 73/1491 (0.049), round_percent 55/1497 (0.037), share_turnout 79/1500
    (0.053); second_digit_benford 327/488 (0.670)."""
    rates = flag_rates(homogeneous=True)
    for name in (*ALARM_TESTS, "share_turnout"):
        tested, flagged = rates[name]
        assert tested >= 400, name
        assert flagged / tested <= upper_margin(tested), (name, flagged, tested)
    assert rates["dispersion"][1] / rates["dispersion"][0] > 0.02  # a real test, not inert


def test_clean_election_after_multiple_testing() -> None:
    """Region-level alarms on a clean election of 300 regions, after Benjamini–Hochberg
    over every region and alarm test: none."""
    rng = np.random.default_rng(5)
    p_values = {
        f"r{i}": region_statistics(
            *clean_region(rng, int(rng.integers(30, 300))), rng=i, n_bootstrap=10
        ).alarm_p_values()
        for i in range(300)
    }
    assert flag_regions(p_values) == []


# The synthetic generator's fixed shares.


def synthetic_tree(kabupaten: int = 4) -> synthetic._Tree:
    """A small region tree in three provinsi, 250 TPS per kabupaten/kota (5 kecamatan x
    10 desa x 5 TPS), in the generator's own structure."""
    tree = synthetic._Tree()
    for provinsi_id in ("31", "32", "35"):
        provinsi = Region(provinsi_id, "ID", Level.PROVINSI, f"PROVINSI {provinsi_id}")
        for a in range(1, kabupaten + 1):
            kab = Region(f"{provinsi_id}{a:02d}", provinsi_id, Level.KABUPATEN_KOTA, f"KAB {a}")
            for b in range(1, 6):
                kec = Region(f"{kab.id}{b:02d}", kab.id, Level.KECAMATAN, f"KEC {b}")
                for c in range(1, 11):
                    desa = Region(f"{kec.id}{c:04d}", kec.id, Level.DESA, f"DESA {c}")
                    tps = [(f"{desa.id}{i:03d}", i, 0) for i in range(1, 6)]
                    tree.add_desa((provinsi, kab, kec, desa), tps)
    return tree


def test_generator_fixed_share_regions_are_found() -> None:
    """The generator's own draw (private, pure: no registry files): two of twelve
    kabupaten/kota of 250 TPS have pair 01 fixed at 57% within half a vote. After
    Benjamini–Hochberg over every region and alarm test, exactly those two are flagged,
    by the dispersion index and the round-percent spike of pair 01."""
    tree = synthetic_tree()
    planted = {"3102", "3503"}
    fixed = np.array([code in planted for code in tree.kabupaten])
    counts = synthetic._draw_counts(np.random.default_rng(7), tree, fixed, 0.57)
    _, kabupaten, _ = tree.region_arrays()
    values = counts.values
    p_values = {}
    for index, code in enumerate(tree.kabupaten):
        rows = kabupaten == index
        found = region_statistics(
            {choice: values[choice][rows] for choice in synthetic.CHOICES},
            values["suara_sah"][rows],
            values["pengguna_hak_pilih"][rows],
            counts.dpt[rows],
            rng=index,
            n_bootstrap=100,
        )
        p_values[code] = found.alarm_p_values()
        index_of_01 = found.tests["dispersion:01"].statistic
        assert index_of_01 is not None
        if code in planted:
            assert index_of_01 < 0.01
        else:
            assert index_of_01 > 5  # the generator's TPS vary as real ones do
    flags = flag_regions(p_values)
    assert {(f.region, f.test) for f in flags} == {
        (code, test) for code in planted for test in ("dispersion:01", "round_percent:01")
    }
    assert all(f.p_value < 1e-50 for f in flags if f.test == "dispersion:01")
