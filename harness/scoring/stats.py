"""How precise a task's accuracy is, split by source, and how many samples per problem it needs.

A task has m problems, each sampled n times; problem i has c_i of its n samples judged correct and an
unknown true rate p_i, estimated by p̂_i = c_i / n. The task's accuracy is A = mean_i p̂_i. Two questions
give two variances of A, and both are reported because they answer different questions:

- On *these* problems (a fixed problem set, e.g. "AIME 2024"): only the sampling of answers is random.
  Var(A) = mean_i p_i(1 - p_i) / (n m). More samples per problem shrink it without limit.
- Over a *population* of problems like these (what the benchmark stands for): which problems were drawn
  is random too. Var(A) = (σ_b² + w / n) / m, where σ_b² is the variance of the true rates across
  problems (between) and w = E[p(1 - p)] the variance of one sample (within). More samples only shrink
  the w / n part; below σ_b² / m only more problems help.

Estimators, all unbiased:
- Within: E[p̂(1 - p̂)] = p(1 - p)(n - 1) / n, so w is estimated by mean_i p̂_i(1 - p̂_i) · n / (n - 1).
  It needs n >= 2: with one sample per problem, a problem solved half the time cannot be told from two
  problems solved always and never. For planning with n = 1 we use the bound
  mean p(1 - p) = p̄ - mean p² <= p̄(1 - p̄), i.e. A(1 - A), exact when all problems have the same rate;
  it overstates the samples needed, never understates them, and is labelled as a bound.
- Total: the sample variance s² (ddof 1) of the p̂_i estimates σ_b² + w / n, over a population and, with
  σ_b² read as the spread of these problems' rates, on a fixed set alike. Between is s² - w / n; it can
  fall below 0 by chance and is then shown as 0, while the population standard error keeps s² itself.

Intervals (95% unless asked otherwise):
- Fixed set: A ± t(ν) · sqrt(w / (n m)). ν is the Welch-Satterthwaite degrees of freedom of the summed
  per-problem variance estimates, (Σ ŵ_i)² (n - 1) / Σ ŵ_i²: it is large when many problems vary
  (the normal interval then), and small when only a few do, or with 2-3 samples per problem, where a
  normal interval falls short (simulated 93% at 30 problems × 2 samples; 95-99% with ν).
- Population: A ± t(m - 1) · s / sqrt(m), Student's t for the few problems a contest has (2.045 instead
  of 1.96 at m = 30).
The samples per problem for a target half-width h solve the same expressions for n, with the normal
quantile in the fixed view (ν grows with n). In the population view h is out of reach when
t² σ_b² / m >= h²; the answer is then the number of problems needed at the current n.

The power of the paired comparison lives in power.py, rank intervals in ranks.py; every formula is
checked against simulated runs in tests/scoring/test_stats_simulation.py.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist
from typing import Literal

import numpy as np

View = Literal["fixed", "population"]
VIEWS: tuple[View, ...] = ("fixed", "population")

_NORMAL = NormalDist()


class StatsError(ValueError):
    """Per-problem results that cannot support the requested statistic."""


def normal_quantile(probability: float) -> float:
    return _NORMAL.inv_cdf(probability)


def normal_cdf(x: float) -> float:
    return _NORMAL.cdf(x)


def _t_central_mass(t: float, df: int) -> float:
    """P(|T| <= t) for Student's t, integer df: closed-form series (Abramowitz & Stegun 26.7.3-4)."""
    theta = math.atan(t / math.sqrt(df))
    sin, cos2 = math.sin(theta), math.cos(theta) ** 2
    if df % 2 == 0:
        term, total = 1.0, 1.0
        for j in range(1, df // 2):
            term *= cos2 * (2 * j - 1) / (2 * j)
            total += term
        return sin * total
    if df == 1:
        return 2 * theta / math.pi
    term = math.cos(theta)
    total = term
    for j in range(1, (df - 1) // 2):
        term *= cos2 * (2 * j) / (2 * j + 1)
        total += term
    return 2 / math.pi * (theta + sin * total)


@lru_cache(maxsize=4096)  # intervals and planning ask for the same few (probability, df) pairs
def t_quantile(probability: float, df: int) -> float:
    """Upper quantile of Student's t with df degrees of freedom (probability in (0.5, 1)), by bisection."""
    if not 0.5 < probability < 1.0 or df < 1:
        raise StatsError(f"t_quantile needs 0.5 < probability < 1 and df >= 1; got {probability}, {df}")
    if df > 2000:  # the series would sum df / 2 terms; the normal is then within 1e-3 relative
        return normal_quantile(probability)
    mass = 2 * probability - 1
    lo, hi = 0.0, 1.0
    while _t_central_mass(hi, df) < mass:
        lo, hi = hi, 2 * hi
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _t_central_mass(mid, df) < mass else (lo, mid)
        if hi - lo < 1e-12 * hi:
            break
    return (lo + hi) / 2


@dataclass(frozen=True)
class VarianceSplit:
    """The variance of one task's accuracy, split by source; per-problem quantities, in rate units squared."""

    n_problems: int  # m
    samples_per_problem: int  # n
    accuracy: float  # A
    problem_variance: float | None  # s²: variance of one problem's observed rate (None when m = 1)
    sample_variance: float  # w: variance of one sample (unbiased), or its upper bound A(1-A) when n = 1
    sample_variance_is_bound: bool  # True when n = 1: the split is not identifiable
    fixed_df: float | None  # Welch-Satterthwaite ν of the fixed-set interval; None when nothing varied

    @property
    def within(self) -> float | None:
        """Sampling part of Var(A): w / (n m). None when n = 1."""
        if self.sample_variance_is_bound:
            return None
        return self.sample_variance / (self.samples_per_problem * self.n_problems)

    @property
    def between(self) -> float | None:
        """Problem-draw part of Var(A): (s² - w / n) / m, shown as 0 when chance makes it negative."""
        if self.sample_variance_is_bound or self.problem_variance is None:
            return None
        return max(0.0, self.problem_variance - self.sample_variance / self.samples_per_problem) / (
            self.n_problems
        )

    @property
    def se_fixed(self) -> float | None:
        """Standard error of A on these problems (sampling only)."""
        within = self.within
        return None if within is None else math.sqrt(within)

    @property
    def se_population(self) -> float | None:
        """Standard error of A over a population of problems (both parts)."""
        if self.problem_variance is None:
            return None
        return math.sqrt(self.problem_variance / self.n_problems)


def _rates(correct: Sequence[int] | np.ndarray, n: int) -> np.ndarray:
    counts = np.asarray(correct)
    if n < 1:
        raise StatsError(f"samples per problem must be at least 1, got n={n}")
    if counts.ndim != 1 or counts.size == 0:
        raise StatsError("need the correct-sample count of at least one problem")
    if np.any(counts < 0) or np.any(counts > n):
        raise StatsError(f"correct-sample counts must lie in 0..{n}; got {counts.min()}..{counts.max()}")
    return counts.astype(float) / n


def variance_split(correct: Sequence[int] | np.ndarray, n: int) -> VarianceSplit:
    """Split the variance of the mean accuracy of one task (correct[i] of n samples right on problem i)."""
    rates = _rates(correct, n)
    m = rates.size
    accuracy = float(rates.mean())
    fixed_df = None
    if n >= 2:
        per_problem = rates * (1 - rates) * n / (n - 1)
        sample_variance = float(per_problem.mean())
        if sample_variance > 0:
            fixed_df = float(per_problem.sum() ** 2 * (n - 1) / np.sum(per_problem**2))
    else:
        sample_variance = accuracy * (1 - accuracy)
    return VarianceSplit(
        n_problems=m,
        samples_per_problem=n,
        accuracy=accuracy,
        problem_variance=float(rates.var(ddof=1)) if m >= 2 else None,
        sample_variance=sample_variance,
        sample_variance_is_bound=n < 2,
        fixed_df=fixed_df,
    )


def accuracy_interval(split: VarianceSplit, view: View, level: float = 0.95) -> tuple[float, float] | None:
    """Two-sided interval for the true accuracy (see the module docstring); None when not estimable.

    On a fixed set where no problem's samples disagreed the interval is the point A: nothing was
    seen to vary (a larger n may still show variation)."""
    upper = (1 + level) / 2
    if view == "fixed":
        se = split.se_fixed
        if se is None:
            return None
        # ν below 1 cannot happen (each varying problem adds n - 1 >= 1); floor keeps the t table integral.
        half = 0.0 if split.fixed_df is None else t_quantile(upper, math.floor(split.fixed_df)) * se
    else:
        if split.se_population is None:
            return None
        half = t_quantile(upper, split.n_problems - 1) * split.se_population
    return max(0.0, split.accuracy - half), min(1.0, split.accuracy + half)


@dataclass(frozen=True)
class SamplesNeeded:
    """Samples per problem for a target interval half-width, or why sampling alone cannot reach it."""

    half_width: float
    view: View
    samples_per_problem: int | None  # None: out of reach by sampling (population view) or not estimable
    problems_needed: int | None  # population view, out of reach: problems needed at the current n
    is_upper_bound: bool  # computed from the n = 1 bound on the within variance
    reason: str  # empty when samples_per_problem is set


def _problems_needed(total_variance: float, half_width: float, level: float) -> int:
    """Smallest m with t(m-1) · sqrt(total_variance / m) <= half_width (t shrinks as m grows)."""
    upper = (1 + level) / 2

    def enough(m: int) -> bool:
        return t_quantile(upper, m - 1) ** 2 * total_variance / m <= half_width**2

    # The normal quantile gives a lower bound; doubling finds an upper one; bisection the smallest.
    lo = max(1, math.ceil(normal_quantile(upper) ** 2 * total_variance / half_width**2) - 1)
    hi = lo + 1
    while not enough(hi):
        lo, hi = hi, 2 * hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if enough(mid) else (mid, hi)
    return hi


def samples_needed(split: VarianceSplit, half_width: float, view: View, level: float = 0.95) -> SamplesNeeded:
    """Samples per problem so that the view's interval is ± half_width (rates, e.g. 0.02 for 2 points)."""
    if not 0 < half_width < 1:
        raise StatsError(f"half_width is a rate in (0, 1), got {half_width}")
    m, n, w = split.n_problems, split.samples_per_problem, split.sample_variance

    def answer(samples: int | None, problems: int | None = None, reason: str = "") -> SamplesNeeded:
        return SamplesNeeded(half_width, view, samples, problems, split.sample_variance_is_bound, reason)

    upper = (1 + level) / 2
    if view == "fixed":
        return answer(max(1, math.ceil(normal_quantile(upper) ** 2 * w / (m * half_width**2))))
    if split.sample_variance_is_bound or split.problem_variance is None:
        return answer(
            None, reason="needs at least 2 problems and 2 samples per problem to split the variance"
        )
    crit = t_quantile(upper, m - 1)
    between = max(0.0, split.problem_variance - w / n)
    room = m * half_width**2 / crit**2 - between  # what w / n' may use
    if room <= 0:
        problems = _problems_needed(split.problem_variance, half_width, level)
        return answer(
            None, problems, f"between-problem variance alone exceeds ±{half_width:g} with {m} problems"
        )
    return answer(max(1, math.ceil(w / room)))
