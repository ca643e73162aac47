"""The statistics checked against simulated runs with known per-problem rates, not only against formulas.

Rates are AIME-like: 40% of the problems nearly never solved, 30% nearly always, 30% in between, which
is where normal approximations are weakest. Each check draws at least 2,000 runs from fixed seeds, so
its figure is deterministic; `pytest -s` prints them. A coverage estimated from 5,000 runs has a
standard error of 0.3 points (0.5 from 2,000), a power from 2,000 runs about 1 point.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.reporting.compare import mcnemar_exact_p, paired_permutation_p, paired_t_interval
from harness.scoring.metrics import _bootstrap_ci  # the score file's CI, as compute_metrics draws it
from harness.scoring.power import (
    design_from_rates,
    minimum_detectable_difference,
    paired_design,
    power,
)
from harness.scoring.ranks import rank_intervals
from harness.scoring.stats import View, accuracy_interval, samples_needed, variance_split

RUNS = 2000
COVERAGE_RUNS = 5000  # the interval checks are cheap: more runs, less Monte Carlo noise
POPULATION = 20000  # problems the population view draws its problems from


def aime_like_rates(seed: int, size: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    kind = rng.choice(3, size=size, p=[0.4, 0.3, 0.3])
    hard, easy, middle = rng.beta(0.3, 6, size), rng.beta(6, 0.3, size), rng.beta(2, 2, size)
    return np.select([kind == 0, kind == 1], [hard, easy], middle)


def lowered(rates: np.ndarray, difference: float) -> np.ndarray:
    """The rates lowered on the logit scale until their mean falls by `difference`: a weaker model
    for which hard problems stay hard and easy ones easy."""
    clipped = np.clip(rates, 1e-12, 1 - 1e-12)
    logit = np.log(clipped) - np.log1p(-clipped)
    lo, hi = 0.0, 30.0
    for _ in range(60):
        mid = (lo + hi) / 2
        drop = rates.mean() - np.mean(1 / (1 + np.exp(mid - logit)))
        lo, hi = (mid, hi) if drop < difference else (lo, mid)
    return 1 / (1 + np.exp((lo + hi) / 2 - logit))


def runs_of(rates: np.ndarray, problems: int, view: View, seed: int, runs: int = RUNS) -> np.ndarray:
    """runs × problems true rates: the same problems every run, or problems drawn from the population."""
    if view == "fixed":
        return np.broadcast_to(rates, (runs, rates.size))
    return rates[np.random.default_rng(seed).integers(0, rates.size, size=(runs, problems))]


def interval_coverage(counts: np.ndarray, samples: int, truth: float, view: View) -> tuple[float, float]:
    """How often accuracy_interval held the true accuracy over these runs, and its mean half-width."""
    hits, widths = 0, 0.0
    for row in counts:
        lo, hi = accuracy_interval(variance_split(row, samples), view) or (math.nan, math.nan)
        hits += lo <= truth <= hi
        widths += (hi - lo) / 2
    return hits / len(counts), widths / len(counts)


@pytest.mark.parametrize(
    ("view", "problems", "samples"),
    [
        ("fixed", 30, 4),
        ("fixed", 30, 16),
        ("fixed", 100, 8),
        ("population", 30, 1),
        ("population", 30, 8),
        ("population", 100, 4),
    ],
)
def test_accuracy_intervals_cover_95_percent(view: View, problems: int, samples: int) -> None:
    rates = aime_like_rates(1, problems if view == "fixed" else POPULATION)
    truth = rates.mean()
    true_rates = runs_of(rates, problems, view, 3, COVERAGE_RUNS)
    counts = np.random.default_rng(2).binomial(samples, true_rates)
    coverage, _ = interval_coverage(counts, samples, truth, view)
    print(f"\n{view} {problems}×{samples}: 95% interval covered the true accuracy in {coverage:.1%}")
    assert 0.93 <= coverage <= 0.97


def test_two_samples_per_problem_err_on_the_wide_side() -> None:
    # With n = 2 a problem's within estimate is 0 or 1/2, and the Satterthwaite degrees of freedom
    # widen the interval more than needed (a normal interval would cover ~93%): never too narrow.
    rates = aime_like_rates(1, 30)
    counts = np.random.default_rng(2).binomial(2, np.broadcast_to(rates, (COVERAGE_RUNS, 30)))
    coverage, _ = interval_coverage(counts, 2, rates.mean(), "fixed")
    print(f"\nfixed 30×2: covered {coverage:.1%} (conservative)")
    assert 0.95 <= coverage <= 0.995


@pytest.mark.parametrize(("problems", "samples"), [(30, 1), (30, 8)])
def test_score_file_bootstrap_ci_covers_the_population_accuracy(problems: int, samples: int) -> None:
    rates = aime_like_rates(1, POPULATION)
    counts = np.random.default_rng(4).binomial(samples, runs_of(rates, problems, "population", 5))
    hits = 0
    for seed, row in enumerate(counts):
        lo, hi = _bootstrap_ci(row / samples, seed, 1000)
        hits += lo <= rates.mean() <= hi
    print(f"\nscore-file percentile bootstrap, {problems}×{samples}: covered {hits / RUNS:.1%}")
    assert 0.93 <= hits / RUNS <= 0.97


@pytest.mark.parametrize(("problems", "samples"), [(30, 1), (30, 4), (30, 16), (100, 4)])
def test_compare_interval_covers_the_population_difference(problems: int, samples: int) -> None:
    rates_a = aime_like_rates(1, POPULATION)
    rates_b = lowered(rates_a, 0.05)
    picks = np.random.default_rng(6).integers(0, POPULATION, size=(COVERAGE_RUNS, problems))
    rng = np.random.default_rng(7)
    differences = (rng.binomial(samples, rates_a[picks]) - rng.binomial(samples, rates_b[picks])) / samples
    truth = np.mean(rates_a - rates_b)
    hits = 0
    for row in differences:
        lo, hi = paired_t_interval(row)
        hits += lo <= truth <= hi
    coverage = hits / COVERAGE_RUNS
    print(f"\ncompare's paired t interval, {problems}×{samples}: covered {coverage:.1%}")
    assert 0.93 <= coverage <= 0.97


def test_planned_samples_give_the_planned_width() -> None:
    # A pilot of 4 samples per problem plans the samples for ±3 points on these problems; runs at
    # the planned n then get intervals of about that half-width that still cover 95%.
    rates = aime_like_rates(1, 30)
    pilot = variance_split(np.random.default_rng(9).binomial(4, rates), 4)
    planned = samples_needed(pilot, 0.03, "fixed").samples_per_problem
    assert planned is not None and planned > 4
    counts = np.random.default_rng(10).binomial(planned, np.broadcast_to(rates, (COVERAGE_RUNS, 30)))
    coverage, width = interval_coverage(counts, planned, rates.mean(), "fixed")
    print(f"\nplanned n={planned} for ±3 points: half-width {width:.2%}, covered {coverage:.1%}")
    assert 0.027 <= width <= 0.033
    assert 0.93 <= coverage <= 0.97


def scenario(view: View, problems: int, samples: int, difference: float) -> tuple[np.ndarray, np.ndarray]:
    """Model A's rates (these problems, or the population) and a weaker B's, `difference` lower."""
    rates_a = aime_like_rates(8, problems if view == "fixed" else POPULATION)
    return rates_a, lowered(rates_a, difference) if difference > 0 else rates_a


def computed_power(view: View, problems: int, samples: int, difference: float) -> float:
    rates_a, rates_b = scenario(view, problems, samples, difference)
    noise = design_from_rates(rates_a, samples, rates_b, samples, n_problems=problems).noise(view)
    assert noise is not None
    return power(noise, difference)


def difference_with_power(view: View, problems: int, samples: int, target: float) -> float:
    """The true difference at which the computed power is `target` (its design moves with it)."""
    lo, hi = 0.0, 0.5
    for _ in range(25):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if computed_power(view, problems, samples, mid) < target else (lo, mid)
    return (lo + hi) / 2


def simulated_counts(view: View, problems: int, samples: int, difference: float) -> tuple[np.ndarray, ...]:
    rates_a, rates_b = scenario(view, problems, samples, difference)
    rng = np.random.default_rng(11)
    # The same problems for both models in each run: runs_of draws the same picks for the same seed.
    true_a, true_b = (runs_of(r, problems, view, 12) for r in (rates_a, rates_b))
    return rng.binomial(samples, true_a), rng.binomial(samples, true_b)


def rejection_rate(counts_a: np.ndarray, counts_b: np.ndarray, samples: int) -> float:
    """How often compare's test (exact McNemar, or the exact sign-flip test) rejects at 0.05."""
    rejected = 0
    for a, b in zip(counts_a, counts_b, strict=True):
        d = (a - b) / samples
        if samples == 1:
            p = mcnemar_exact_p(int(np.sum(d > 0)), int(np.sum(d < 0)))
        else:
            p = paired_permutation_p(d, denominator=samples)
        rejected += p <= 0.05
    return rejected / len(counts_a)


DESIGNS = [("fixed", 30, 16), ("fixed", 30, 4), ("population", 30, 1), ("population", 30, 8)]
DESIGNS += [("population", 100, 4)]


@pytest.mark.parametrize(("view", "problems", "samples"), DESIGNS)
@pytest.mark.parametrize("target", [0.5, 0.8])
def test_power_matches_the_exact_test(view: View, problems: int, samples: int, target: float) -> None:
    difference = difference_with_power(view, problems, samples, target)
    counts_a, counts_b = simulated_counts(view, problems, samples, difference)
    simulated = rejection_rate(counts_a, counts_b, samples)
    print(
        f"\n{view} {problems}×{samples}: at a true difference of {difference:.2%} computed power "
        f"{target:.0%}, the exact test rejected in {simulated:.1%} of {RUNS} runs"
    )
    assert abs(simulated - target) <= 0.04
    if target == 0.8:
        # compare's figure is the plug-in estimate from one run's counts: typically close.
        estimates = []
        for a, b in zip(counts_a[:300], counts_b[:300], strict=True):
            noise = paired_design(a, samples, b, samples).noise(view)
            assert noise is not None
            estimates.append(minimum_detectable_difference(noise) or math.inf)
        median = float(np.median(estimates))
        print(f"  plug-in minimum detectable difference: median {median:.2%} (true {difference:.2%})")
        assert abs(median / difference - 1) <= 0.15


@pytest.mark.parametrize(("view", "problems", "samples"), DESIGNS)
def test_the_exact_test_keeps_its_level(view: View, problems: int, samples: int) -> None:
    rate = rejection_rate(*simulated_counts(view, problems, samples, 0.0), samples)
    computed = computed_power(view, problems, samples, 0.0)
    print(f"\n{view} {problems}×{samples}, no difference: rejected {rate:.1%} (computed {computed:.1%})")
    assert rate <= 0.06 and abs(rate - computed) <= 0.04


@pytest.mark.parametrize(("view", "problems", "samples"), [("fixed", 30, 8), ("population", 100, 1)])
def test_rank_intervals_hold_the_true_rank(view: View, problems: int, samples: int) -> None:
    # Four models, the last three 2, 5 and 12 points below the first: neighbours are hard to tell apart.
    base = aime_like_rates(13, problems if view == "fixed" else POPULATION)
    models = [base] + [lowered(base, gap) for gap in (0.02, 0.05, 0.12)]
    true_rank = np.arange(1, 5)
    picks = runs_of(np.arange(base.size), problems, view, 14)
    rng = np.random.default_rng(15)
    counts = np.stack([rng.binomial(samples, rates[picks]) for rates in models], axis=1)
    hits, widths = np.zeros(4), np.zeros(4)
    for run, per_model in enumerate(counts):
        results = {
            f"m{k}": {f"p{i}": (int(c), samples) for i, c in enumerate(row)}
            for k, row in enumerate(per_model)
        }
        for interval in rank_intervals(results, view=view, resamples=200, seed=run):
            k = int(interval.model[1:])
            hits[k] += interval.best <= true_rank[k] <= interval.worst
            widths[k] += interval.worst - interval.best + 1
    coverage, width = np.round(hits / RUNS, 3), np.round(widths / RUNS, 2)
    print(f"\n{view} {problems}×{samples} rank intervals: coverage {coverage}, mean width {width}")
    assert np.all(coverage >= 0.93)
