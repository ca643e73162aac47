"""Power and minimum detectable difference of compare's paired test (scoring/power.py), by hand.

Agreement with the exact test on simulated runs is in test_stats_simulation.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from harness.scoring.power import (
    TestNoise,
    design_from_rates,
    minimum_detectable_difference,
    paired_design,
    power,
)
from harness.scoring.stats import StatsError

A_COUNTS = [8, 7, 0, 0, 3, 8, 5, 1, 0, 8, 6, 2, 8, 0, 4] * 2  # 30 problems, n = 8
B_COUNTS = [8, 5, 0, 1, 1, 8, 3, 0, 0, 7, 6, 0, 8, 0, 2] * 2


def test_design_from_counts_uses_the_unbiased_estimates() -> None:
    design = paired_design(A_COUNTS, 8, B_COUNTS, 8)
    a, b = np.array(A_COUNTS) / 8, np.array(B_COUNTS) / 8
    assert design.population.difference_variance == pytest.approx(np.var(a - b, ddof=1))
    assert design.population.moving_variance == design.population.difference_variance
    assert design.fixed is not None
    assert design.fixed.moving_variance == pytest.approx(np.mean(a * (1 - a) / 7 + b * (1 - b) / 7))
    assert design.fixed.step == design.population.step == pytest.approx(1 / 8)
    # Excess kurtosis of the sign-flip distribution of Σ ±d_i: -2 Σd⁴ / (Σd²)².
    d = a - b
    assert design.population.null_kurtosis == pytest.approx(-2 * np.sum(d**4) / np.sum(d**2) ** 2)
    assert design.noise("fixed") is design.fixed


def test_one_sample_per_problem_has_no_fixed_view_and_steps_by_one() -> None:
    design = paired_design([1, 0, 1, 1, 0, 1], 1, [0, 0, 1, 0, 0, 1], 1)
    assert design.fixed is None and design.population.step == 1.0
    assert paired_design([1, 2], 2, [1, 3], 3).population.step == pytest.approx(1 / 6)  # lcm(2, 3)


def test_design_from_rates_matches_the_expected_observed_variance() -> None:
    pa = np.array([0.9, 0.5, 0.1, 0.0, 1.0, 0.7])
    pb = np.array([0.8, 0.5, 0.0, 0.0, 0.9, 0.4])
    design = design_from_rates(pa, 4, pb, 4, n_problems=30)
    v = (pa * (1 - pa) + pb * (1 - pb)) / 4
    d = pa - pb
    assert design.fixed is not None and design.fixed.n_problems == 6
    # E[s²] of the observed differences on these problems, and the variance of one population draw.
    assert design.fixed.difference_variance == pytest.approx(np.var(d, ddof=1) + v.mean())
    assert design.fixed.moving_variance == pytest.approx(v.mean())
    assert design.population.n_problems == 30
    assert design.population.difference_variance == pytest.approx(np.var(d) + v.mean())


def test_power_grows_with_the_difference_and_is_symmetric() -> None:
    noise = paired_design(A_COUNTS, 8, B_COUNTS, 8).population
    values = [power(noise, d) for d in (0.0, 0.02, 0.05, 0.1, 0.2)]
    assert values == sorted(values) and values[0] < 0.05 < values[-1]
    assert power(noise, -0.05) == pytest.approx(power(noise, 0.05), abs=0.05)


def test_minimum_detectable_difference_is_where_power_reaches_80_percent() -> None:
    design = paired_design(A_COUNTS, 8, B_COUNTS, 8)
    assert design.fixed is not None
    for noise in (design.population, design.fixed):
        mdd = minimum_detectable_difference(noise)
        assert mdd is not None and 0 < mdd < 1
        assert power(noise, mdd) == pytest.approx(0.8, abs=1e-6)
        assert minimum_detectable_difference(noise, target_power=0.9) > mdd  # type: ignore[operator]
        assert minimum_detectable_difference(noise, alpha=0.01) > mdd  # type: ignore[operator]


def test_differences_that_vary_by_problem_are_easier_to_detect_on_a_fixed_set() -> None:
    # B is far behind on some problems and level on others: that spread is noise over a population
    # of problems, but on these problems only sampling moves the sum (the test's bound, c·s, still
    # carries the spread, so the gain is modest).
    pa = np.array([0.9, 0.8, 0.2, 0.6, 0.5, 0.95] * 5)
    pb = np.array([0.5, 0.8, 0.2, 0.2, 0.5, 0.95] * 5)
    design = design_from_rates(pa, 16, pb, 16)
    assert design.fixed is not None
    fixed = minimum_detectable_difference(design.fixed)
    population = minimum_detectable_difference(design.population)
    assert fixed is not None and population is not None and fixed < 0.95 * population


def test_four_times_the_problems_halves_the_detectable_difference() -> None:
    small = paired_design(A_COUNTS, 8, B_COUNTS, 8).population
    large = paired_design(A_COUNTS * 4, 8, B_COUNTS * 4, 8).population
    ratio = minimum_detectable_difference(large) / minimum_detectable_difference(small)  # type: ignore[operator]
    assert 0.45 < ratio < 0.55  # about 1/2; the t-like critical value also shrinks a little


def test_designs_that_cannot_tell_are_none() -> None:
    # Five problems: the exact test's smallest p-value is 2/32 > 0.05, so it never rejects.
    tiny = paired_design([1, 0, 1, 1, 0], 1, [0, 0, 0, 0, 1], 1).population
    assert power(tiny, 0.9) == 0.0 and minimum_detectable_difference(tiny) is None
    # Identical runs on problems always or never solved: nothing varies, nothing to plan from.
    flat = paired_design([4, 0, 4, 4, 0, 0, 4], 4, [4, 0, 4, 4, 0, 0, 4], 4).population
    assert minimum_detectable_difference(flat) is None
    # A constant difference on every problem is detected exactly when the test's bound is passed.
    constant = TestNoise(30, 1 / 8, 0.0, 0.0, 0.0, 0.0)
    assert power(constant, 0.125) == 1.0 and power(constant, 0.0) == 0.0


def test_bad_designs_are_refused() -> None:
    with pytest.raises(StatsError, match="same problems"):
        paired_design([1, 2, 3], 4, [1, 2], 4)
    with pytest.raises(StatsError, match="run B"):
        paired_design([1, 2], 4, [1, 5], 4)
    with pytest.raises(StatsError, match=r"rates must lie in \[0, 1\]"):
        design_from_rates([0.5, 1.2], 4, [0.5, 0.5], 4)
