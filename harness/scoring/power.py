"""What difference compare's test can detect: its power and the minimum detectable difference.

Runs A and B answered the same m problems; d_i = p̂_Ai - p̂_Bi. compare.py tests "no difference" with the
exact sign-flip permutation test on the d_i (McNemar's exact test when both sides drew one sample per
problem, which is the same test). Its power is approximated here in closed form and checked against
the exact test on simulated runs (tests/scoring/test_stats_simulation.py).

The test rejects when |Σ d_i| - h >= z' sqrt(Σ d_i²). h is the continuity correction: under sign flips
Σ d_i moves in steps of 2 / L (L the common denominator of the rates, lcm(n_A, n_B)), so h = 1 / L
(with one sample per problem this is the continuity-corrected McNemar test). z' is the normal quantile
corrected for the lighter tails of the sign-flip distribution (Cornish-Fisher with its excess kurtosis
κ = -2 Σd⁴ / (Σd²)²): z' = z + κ (z³ - 3z) / 24. Written with the mean d̄ and the sample deviation s of
the d_i, that is

    √m |d̄| - h / √m >= c s,    c = z' sqrt((m - 1) / (m - z'²)),

a t-like test whose bound moves with s. For a true mean difference Δ the power is
Φ((√m Δ - c E[s] - h / √m) / D) plus the same with -Δ for the other tail, where by the delta method

    D² = V + c² K4 / (4 σ² m) ∓ c K3 / (σ √m),   E[s] ≈ σ - K4 / (8 σ³ m),

σ² the variance of one d_i, V the variance of √m d̄, K3 = m Cov(d̄, s²) and K4 = m Var(s²). The two
views of stats.py give the moments:
- over a population of problems the d_i are independent draws: V = σ², K3 = μ3, K4 = μ4 - σ⁴ (central
  moments of d);
- on a fixed problem set only sampling moves d_i = δ_i + e_i around its problem's true difference δ_i:
  V = τ² = mean v_i, K3 = mean(2 b_i v_i + μ3_i), K4 = mean(4 b_i² v_i + 4 b_i μ3_i + μ4_i - v_i²),
  with b_i = δ_i - Δ and v_i, μ3_i, μ4_i the central moments of e_i (binomial).
Every term earns its place on AIME-like problems (many always or never solved): without the skewness
terms (d̄ and s move together) the power was 5 to 10 points off, without the continuity correction up
to 20 points (one sample per problem), without κ up to 5.5 points. Against the exact test on 48 simulated
cases (3 sets of rates; 30 or 100 problems; 1 to 16 samples; both views; power 50% and 80%; 2,000 runs
each) it was within 3.8 points. With 10 problems it overstates the power (36% simulated where 50% is
computed, 70-73% where 80%): the exact test's discreteness dominates there.

From two observed runs the moments are estimated by plug-in: σ² by the sample variance of the d_i
(unbiased in both views), τ² by the unbiased per-problem within variances (needs n >= 2 on both
sides), the higher moments from the sample moments of d (population) or the binomial moments at the
observed rates and b_i = d_i - d̄ (fixed); the power is computed as if the differences kept their
observed spread while their mean moved to Δ. The minimum detectable difference is the Δ at which the
power reaches 80%.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from harness.scoring.stats import StatsError, View, normal_cdf, normal_quantile


@dataclass(frozen=True)
class TestNoise:
    """What the power of the paired test depends on, for one view (see the module docstring)."""

    n_problems: int  # m
    step: float  # h = 1 / L, the continuity correction in rate units
    difference_variance: float  # σ²: variance of one problem's difference
    moving_variance: float  # V: variance of √m d̄ in this view
    skew_term: float  # K3 = m Cov(d̄, s²)
    kurtosis_term: float  # K4 = m Var(s²)
    null_kurtosis: float = 0.0  # κ = -2 Σd⁴ / (Σd²)²: excess kurtosis of the sign-flip distribution


@dataclass(frozen=True)
class PairedDesign:
    """The noise of a paired comparison in both views; fixed is None when a side has one sample."""

    fixed: TestNoise | None
    population: TestNoise

    def noise(self, view: View) -> TestNoise | None:
        return self.fixed if view == "fixed" else self.population


def _binomial_moments(rates: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Central moments 2, 3, 4 of c / n for c ~ Binomial(n, rate)."""
    pq = rates * (1 - rates)
    return pq / n, pq * (1 - 2 * rates) / n**2, pq * (1 + 3 * (n - 2) * pq) / n**3


def _sampling_terms(
    offsets: np.ndarray, rates_a: np.ndarray, n_a: int, rates_b: np.ndarray, n_b: int
) -> tuple[np.ndarray, float, float]:
    """Per-problem sampling variances v_i and the fixed view's K3, K4 (binomial moments at the rates)."""
    va, a3, a4 = _binomial_moments(rates_a, n_a)
    vb, b3, b4 = _binomial_moments(rates_b, n_b)
    v, mu3, mu4 = va + vb, a3 - b3, a4 + 6 * va * vb + b4
    k3 = float(np.mean(2 * offsets * v + mu3))
    k4 = float(np.mean(4 * offsets**2 * v + 4 * offsets * mu3 + mu4 - v**2))
    return v, k3, k4


def _null_kurtosis(fourth: float, second: float, m: int) -> float:
    """κ of the sign-flip distribution from the mean d⁴ and d² over problems: -2 Σd⁴ / (Σd²)²."""
    return -2.0 * fourth / (m * second * second) if second > 0 else 0.0


def _step(n_a: int, n_b: int) -> float:
    return 1.0 / math.lcm(n_a, n_b)


def _check_pair(rates_a: np.ndarray, rates_b: np.ndarray) -> None:
    if rates_a.ndim != 1 or rates_a.shape != rates_b.shape or rates_a.size < 2:
        raise StatsError(
            f"a paired design needs the same problems on both sides, at least 2; got {rates_a.size} "
            f"and {rates_b.size}"
        )


def paired_design(
    correct_a: Sequence[int] | np.ndarray, n_a: int, correct_b: Sequence[int] | np.ndarray, n_b: int
) -> PairedDesign:
    """The design of a comparison, estimated from both runs' per-problem correct counts (same order)."""
    for name, counts, n in (("A", correct_a, n_a), ("B", correct_b, n_b)):
        array = np.asarray(counts)
        if n < 1 or np.any(array < 0) or np.any(array > n):
            raise StatsError(f"run {name}: correct counts must lie in 0..n with n >= 1 (n={n})")
    rates_a, rates_b = np.asarray(correct_a) / n_a, np.asarray(correct_b) / n_b
    _check_pair(rates_a, rates_b)
    m, d = rates_a.size, rates_a - rates_b
    centred = d - d.mean()
    sigma2 = float(np.var(d, ddof=1))
    kurtosis = _null_kurtosis(float(np.mean(d**4)), float(np.mean(d**2)), m)
    population = TestNoise(
        m,
        _step(n_a, n_b),
        sigma2,
        sigma2,
        float(np.mean(centred**3)),
        float(np.mean(centred**4)) - sigma2**2,
        kurtosis,
    )
    fixed = None
    if n_a >= 2 and n_b >= 2:
        _, k3, k4 = _sampling_terms(centred, rates_a, n_a, rates_b, n_b)
        # Unbiased v_i: p̂(1 - p̂) / (n - 1) has expectation p(1 - p) / n.
        tau2 = float(np.mean(rates_a * (1 - rates_a) / (n_a - 1) + rates_b * (1 - rates_b) / (n_b - 1)))
        fixed = TestNoise(m, _step(n_a, n_b), sigma2, tau2, k3, k4, kurtosis)
    return PairedDesign(fixed, population)


def design_from_rates(
    rates_a: Sequence[float] | np.ndarray,
    n_a: int,
    rates_b: Sequence[float] | np.ndarray,
    n_b: int,
    n_problems: int | None = None,
) -> PairedDesign:
    """The design for known true per-problem rates (planning, and the simulation tests).

    Fixed view: these are the problems. Population view: the rates stand for the population the
    problems are drawn from, n_problems at a time (default: as many as given)."""
    pa, pb = np.asarray(rates_a, dtype=float), np.asarray(rates_b, dtype=float)
    _check_pair(pa, pb)
    if np.any((pa < 0) | (pa > 1) | (pb < 0) | (pb > 1)):
        raise StatsError("rates must lie in [0, 1]")
    m = pa.size if n_problems is None else n_problems
    offsets = (pa - pb) - np.mean(pa - pb)
    v, k3_fixed, k4_fixed = _sampling_terms(offsets, pa, n_a, pb, n_b)
    _, a3, a4 = _binomial_moments(pa, n_a)
    _, b3, b4 = _binomial_moments(pb, n_b)
    va, vb = pa * (1 - pa) / n_a, pb * (1 - pb) / n_b
    mu3, mu4 = a3 - b3, a4 + 6 * va * vb + b4
    # Moments of one draw of d from the population: problem spread and sampling noise together.
    sigma2_pop = float(np.mean(offsets**2 + v))
    m3 = float(np.mean(offsets**3 + 3 * offsets * v + mu3))
    m4 = float(np.mean(offsets**4 + 6 * offsets**2 * v + 4 * offsets * mu3 + mu4))
    step = _step(n_a, n_b)
    sigma2_fixed = float(np.sum(offsets**2) / (pa.size - 1) + np.mean(v))
    # Raw moments of d (its mean included) for the sign-flip distribution's kurtosis.
    loc = pa - pb
    second = float(np.mean(loc**2 + v))
    fourth = float(np.mean(loc**4 + 6 * loc**2 * v + 4 * loc * mu3 + mu4))
    return PairedDesign(
        fixed=TestNoise(
            pa.size,
            step,
            sigma2_fixed,
            float(np.mean(v)),
            k3_fixed,
            k4_fixed,
            _null_kurtosis(fourth, second, pa.size),
        ),
        population=TestNoise(
            m, step, sigma2_pop, sigma2_pop, m3, m4 - sigma2_pop**2, _null_kurtosis(fourth, second, m)
        ),
    )


def _critical(m: int, alpha: float, null_kurtosis: float = 0.0) -> float | None:
    """c of the module docstring, or None when the exact test cannot reject at alpha with m problems
    (its smallest two-sided p-value is 2 / 2**m)."""
    z = normal_quantile(1 - alpha / 2)
    # Cornish-Fisher: the sign-flip distribution is lighter-tailed than the normal (κ < 0).
    z += null_kurtosis / 24 * (z**3 - 3 * z)
    if 2.0 / 2.0**m > alpha or m <= z * z:
        return None
    return z * math.sqrt((m - 1) / (m - z * z))


def power(noise: TestNoise, difference: float, alpha: float = 0.05) -> float:
    """Approximate probability that compare's test rejects at alpha when the true mean difference is
    `difference` (module docstring)."""
    m, sigma2 = noise.n_problems, noise.difference_variance
    c = _critical(m, alpha, noise.null_kurtosis)
    if c is None:
        return 0.0
    if sigma2 <= 0:
        # Every problem differs by the same amount: |S| = m|Δ| and Q = mΔ², so the test rejects
        # exactly when m|Δ| - h >= z√m|Δ|.
        z = normal_quantile(1 - alpha / 2)
        return 1.0 if abs(difference) * (m - z * math.sqrt(m)) >= noise.step else 0.0
    sigma = math.sqrt(sigma2)
    kurtosis = max(0.0, noise.kurtosis_term)  # a plug-in estimate can dip below 0 by chance
    expected_s = max(0.0, sigma - kurtosis / (8 * sigma**3 * m))
    spread_of_s = c * c * kurtosis / (4 * sigma2 * m)
    comovement = c * noise.skew_term / (sigma * math.sqrt(m))
    total = 0.0
    for sign in (1.0, -1.0):
        variance = max(noise.moving_variance + spread_of_s - sign * comovement, 1e-300)
        margin = sign * math.sqrt(m) * difference - c * expected_s - noise.step / math.sqrt(m)
        total += normal_cdf(margin / math.sqrt(variance))
    return min(1.0, total)


def minimum_detectable_difference(
    noise: TestNoise, target_power: float = 0.8, alpha: float = 0.05
) -> float | None:
    """Smallest true mean difference (rate units) detected with target_power; None when the design
    has no variation, too few problems to ever reject, or nothing up to a difference of 1 reaches it."""
    if noise.difference_variance <= 0 or _critical(noise.n_problems, alpha, noise.null_kurtosis) is None:
        return None
    if power(noise, 1.0, alpha) < target_power:
        return None
    lo, hi = 0.0, 1.0
    for _ in range(50):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if power(noise, mid, alpha) < target_power else (lo, mid)
    return hi
