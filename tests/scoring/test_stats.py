"""The variance split, intervals and sample planning of scoring/stats.py on cases worked by hand.

Simulated checks of the same statistics (coverage, power) are in test_stats_simulation.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.scoring.stats import (
    StatsError,
    accuracy_interval,
    normal_quantile,
    samples_needed,
    t_quantile,
    variance_split,
)


@pytest.mark.parametrize(
    ("probability", "df", "table"),
    # Two-sided 95% / 99% / one-sided 95% points from any Student t table.
    [
        (0.975, 1, 12.706),
        (0.975, 2, 4.303),
        (0.975, 5, 2.571),
        (0.975, 10, 2.228),
        (0.975, 29, 2.045),
        (0.975, 30, 2.042),
        (0.995, 3, 5.841),
        (0.95, 20, 1.725),
        (0.975, 120, 1.980),
    ],
)
def test_t_quantile_matches_the_table(probability: float, df: int, table: float) -> None:
    assert t_quantile(probability, df) == pytest.approx(table, abs=6e-4)


def test_t_quantile_tends_to_the_normal_and_rejects_nonsense() -> None:
    assert t_quantile(0.975, 5000) == pytest.approx(normal_quantile(0.975))
    assert t_quantile(0.975, 1500) == pytest.approx(normal_quantile(0.975), abs=2e-3)
    with pytest.raises(StatsError, match=r"0\.5 < probability < 1"):
        t_quantile(0.3, 4)
    with pytest.raises(StatsError, match="df >= 1"):
        t_quantile(0.975, 0)


def test_variance_split_by_hand() -> None:
    # Rates 0, 1/2, 1, 1 with n = 4: only the second problem varies within.
    split = variance_split([0, 2, 4, 4], n=4)
    assert split.accuracy == pytest.approx(0.625)
    # w = mean of p̂(1-p̂)·n/(n-1) = (1/4 · 4/3) / 4 = 1/12
    assert split.sample_variance == pytest.approx(1 / 12)
    assert split.problem_variance == pytest.approx(0.6875 / 3)
    assert split.within == pytest.approx(1 / 12 / 16)
    assert split.between == pytest.approx((0.6875 / 3 - 1 / 48) / 4)
    assert split.se_fixed == pytest.approx(math.sqrt(1 / 192))
    assert split.se_population == pytest.approx(math.sqrt(0.6875 / 3 / 4))
    assert split.fixed_df == pytest.approx(3.0)  # one varying problem with n - 1 = 3
    lo, hi = accuracy_interval(split, "fixed") or (0.0, 0.0)
    assert hi - split.accuracy == pytest.approx(t_quantile(0.975, 3) * math.sqrt(1 / 192))
    assert split.accuracy - lo == pytest.approx(hi - split.accuracy)
    # t(3) = 3.18 times a standard error of 0.24 reaches past both ends: clipped to [0, 1].
    assert accuracy_interval(split, "population") == (0.0, 1.0)
    wider = variance_split([0, 2, 4, 4] * 8, n=4)  # 32 problems: the same rates, a narrower interval
    lo, hi = accuracy_interval(wider, "population") or (0.0, 0.0)
    assert wider.se_population is not None
    assert hi - 0.625 == pytest.approx(t_quantile(0.975, 31) * wider.se_population)
    assert 0.625 - lo == pytest.approx(hi - 0.625)


def test_within_estimate_is_unbiased_for_every_rate_and_n() -> None:
    # E[p̂(1-p̂)·n/(n-1)] = p(1-p) exactly, summing over the binomial distribution of the count.
    for n in (2, 3, 8, 16):
        counts = np.arange(n + 1)
        for p in (0.03, 0.3, 0.5, 0.9):
            pmf = np.array([math.comb(n, c) * p**c * (1 - p) ** (n - c) for c in counts])
            estimates = [variance_split([c], n).sample_variance for c in counts]
            assert float(pmf @ estimates) == pytest.approx(p * (1 - p), rel=1e-12), (n, p)


def test_one_sample_per_problem_bounds_the_within_part_and_says_so() -> None:
    split = variance_split([1, 0, 1, 1], n=1)
    assert split.sample_variance_is_bound and split.sample_variance == pytest.approx(0.75 * 0.25)
    assert split.within is None and split.between is None and split.se_fixed is None
    assert accuracy_interval(split, "fixed") is None
    assert split.se_population == pytest.approx(math.sqrt(0.25 / 4))  # var ddof 1 of (1,0,1,1) = 1/4
    need = samples_needed(split, 0.05, "fixed")
    assert need.is_upper_bound and need.samples_per_problem == math.ceil(
        normal_quantile(0.975) ** 2 * 0.1875 / (4 * 0.05**2)
    )
    population = samples_needed(split, 0.05, "population")
    assert population.samples_per_problem is None and "2 samples per problem" in population.reason


def test_nothing_varied_gives_a_point_on_these_problems() -> None:
    split = variance_split([0, 8, 8, 0, 8], n=8)
    assert split.se_fixed == 0.0 and split.fixed_df is None
    assert accuracy_interval(split, "fixed") == (0.6, 0.6)
    assert samples_needed(split, 0.01, "fixed").samples_per_problem == 1


def test_a_single_problem_has_no_population_variance() -> None:
    split = variance_split([3], n=4)
    assert split.problem_variance is None and split.se_population is None and split.between is None
    assert accuracy_interval(split, "population") is None
    assert split.se_fixed == pytest.approx(math.sqrt(0.75 * 0.25 * 4 / 3 / 4))


def test_samples_needed_on_these_problems_reaches_the_target_and_no_fewer_would() -> None:
    counts = [0, 1, 3, 4, 4, 2, 0, 4, 1, 4] * 3  # 30 problems, n = 4
    split = variance_split(counts, n=4)
    z = normal_quantile(0.975)
    for half_width in (0.01, 0.02, 0.05):
        need = samples_needed(split, half_width, "fixed").samples_per_problem
        assert need is not None and not samples_needed(split, half_width, "fixed").is_upper_bound
        assert z * math.sqrt(split.sample_variance / (need * 30)) <= half_width
        assert need == 1 or z * math.sqrt(split.sample_variance / ((need - 1) * 30)) > half_width


def test_samples_needed_over_a_population_stops_at_the_between_floor() -> None:
    counts = [0, 1, 3, 4, 4, 2, 0, 4, 1, 4] * 3
    split = variance_split(counts, n=4)
    assert split.problem_variance is not None
    t = t_quantile(0.975, 29)
    between = split.problem_variance - split.sample_variance / 4
    floor = t * math.sqrt(between / 30)  # the half-width with infinitely many samples
    reachable = samples_needed(split, floor * 1.1, "population")
    assert reachable.samples_per_problem is not None and reachable.problems_needed is None
    n = reachable.samples_per_problem
    assert t * math.sqrt((between + split.sample_variance / n) / 30) <= floor * 1.1
    assert t * math.sqrt((between + split.sample_variance / (n - 1)) / 30) > floor * 1.1
    out_of_reach = samples_needed(split, floor * 0.9, "population")
    assert out_of_reach.samples_per_problem is None and "between-problem variance" in out_of_reach.reason
    problems = out_of_reach.problems_needed
    assert problems is not None and problems > 30
    # With that many problems (and the same n) the population interval reaches the target; one fewer does not.
    s2 = split.problem_variance
    assert t_quantile(0.975, problems - 1) * math.sqrt(s2 / problems) <= floor * 0.9
    assert t_quantile(0.975, problems - 2) * math.sqrt(s2 / (problems - 1)) > floor * 0.9


@pytest.mark.parametrize(
    ("counts", "n", "message"),
    [([], 4, "at least one problem"), ([5], 4, r"lie in 0\.\.4"), ([-1], 4, "0..4"), ([1], 0, "n=0")],
)
def test_bad_inputs_say_what_is_wrong(counts: list[int], n: int, message: str) -> None:
    with pytest.raises(StatsError, match=message):
        variance_split(counts, n)


def test_half_width_must_be_a_rate() -> None:
    with pytest.raises(StatsError, match="half_width is a rate"):
        samples_needed(variance_split([1, 2], 4), 2.0, "fixed")
