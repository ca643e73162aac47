"""Paired comparison of two score files: the statistics on known cases, then the command line."""

from __future__ import annotations

import itertools
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.reporting.compare import (
    ComparisonError,
    compare_scores,
    exact_sign_flip_p,
    mcnemar_exact_p,
    paired_permutation_p,
    paired_t_interval,
)
from harness.results import read_score_file
from harness.scoring.power import minimum_detectable_difference, paired_design
from tests.reporting.score_files import PROTOCOL_A, PROTOCOL_B, write_result

R, W = True, False


@pytest.mark.parametrize(
    ("only_a", "only_b", "expected"),
    [
        (0, 0, 1.0),
        (0, 5, 2 / 32),  # both tails of Binomial(5, 1/2) at 0 and 5
        (1, 9, 2 * (1 + 10) / 1024),
        (8, 2, 2 * (1 + 10 + 45) / 1024),
        (3, 3, 1.0),  # capped at 1
        (0, 1, 1.0),
    ],
)
def test_mcnemar_exact_values(only_a: int, only_b: int, expected: float) -> None:
    assert mcnemar_exact_p(only_a, only_b) == pytest.approx(expected, rel=1e-12)


def test_permutation_test_exact_and_monte_carlo() -> None:
    assert paired_permutation_p([0.0] * 10) == 1.0
    # 12 problems all won by A: only the all-plus and all-minus sign patterns are as extreme.
    assert paired_permutation_p([1.0] * 12) == pytest.approx(2 / 4096)
    # Balanced wins and losses are no evidence at all.
    assert paired_permutation_p([1.0, -1.0, 0.5, -0.5]) == 1.0
    # 40 wins: enumeration is too big, so the seeded Monte Carlo estimate bottoms out at 1/(R+1).
    assert paired_permutation_p([1.0] * 40, seed=3, resamples=2000) == pytest.approx(1 / 2001)
    noisy = [0.5, -0.25, 1.0, 0.0, -0.5, 0.25] * 5
    assert paired_permutation_p(noisy, seed=1) == paired_permutation_p(noisy, seed=1)
    assert 0.05 < paired_permutation_p(noisy, seed=1) < 1.0


def test_exact_sign_flip_counts_every_sign_pattern() -> None:
    rng = np.random.default_rng(0)
    for size in (1, 3, 7, 11):
        for _ in range(5):
            numerators = rng.integers(-5, 6, size=size)
            sums = [abs(sum(sign * a for sign, a in zip(signs, numerators, strict=True)))
                    for signs in itertools.product((-1, 1), repeat=size)]  # fmt: skip
            expected = np.mean(np.array(sums) >= abs(numerators.sum()))
            assert exact_sign_flip_p(numerators) == pytest.approx(expected, abs=1e-12), numerators


def test_exact_sign_flip_with_unit_differences_is_mcnemar() -> None:
    for only_a, only_b in [(0, 5), (1, 9), (8, 2), (30, 12), (3, 3)]:
        numerators = [1] * only_a + [-1] * only_b + [0] * 4
        assert exact_sign_flip_p(numerators) == pytest.approx(mcnemar_exact_p(only_a, only_b), rel=1e-9)


def test_permutation_p_with_a_denominator_is_exact_at_any_size() -> None:
    rng = np.random.default_rng(1)
    differences = (rng.integers(0, 9, size=200) - rng.integers(0, 9, size=200) + 1) / 8
    exact = paired_permutation_p(differences, denominator=8)
    assert exact == paired_permutation_p(differences, seed=99, denominator=8)  # no Monte Carlo left
    monte_carlo = paired_permutation_p(differences, seed=3, resamples=20000)
    assert exact == pytest.approx(monte_carlo, abs=0.01)
    with pytest.raises(ValueError, match="not multiples of 1/8"):
        paired_permutation_p([0.1, 0.2], denominator=8)


def test_t_interval_of_the_mean_difference() -> None:
    assert paired_t_interval([0.25] * 8) == pytest.approx((0.25, 0.25))
    # Mean 1/2, sample deviation sqrt(20/19)/2 over 20 problems; t(19) = 2.093.
    half = 2.093 * math.sqrt(20 / 19) / 2 / math.sqrt(20)
    assert paired_t_interval([1.0, 0.0] * 10) == pytest.approx((0.5 - half, 0.5 + half), abs=1e-3)
    # Mean 2/3, deviation sqrt(1/3), t(2) = 4.303: the upper end is clipped at a difference of 1.
    assert paired_t_interval([1.0, 1.0, 0.0]) == (pytest.approx(2 / 3 - 4.303 / 3, abs=1e-3), 1.0)
    with pytest.raises(ValueError, match="at least 2 problems"):
        paired_t_interval([0.5])


def test_identical_files_differ_by_nothing(tmp_path: Path) -> None:
    grid = [[R], [W], [R], [R]]
    a = read_score_file(write_result(tmp_path, "a", grid))
    b = read_score_file(write_result(tmp_path, "b", grid))
    c = compare_scores(a, b)
    assert c.difference == 0.0 and c.p_value == 1.0 and c.difference_ci95 == (0.0, 0.0)
    assert c.won_by_a == () and c.won_by_b == () and c.ties == 4 and c.test == "exact McNemar"
    assert c.protocol_differences == ()


def test_clear_winner_with_one_sample_uses_mcnemar(tmp_path: Path) -> None:
    a = read_score_file(write_result(tmp_path, "strong", [[R]] * 10 + [[W]] * 2))
    b = read_score_file(write_result(tmp_path, "weak", [[W]] * 10 + [[W], [R]]))
    c = compare_scores(a, b)
    assert c.difference == pytest.approx((10 - 1) / 12)
    assert c.p_value == pytest.approx(mcnemar_exact_p(10, 1)) and c.p_value < 0.02
    assert c.won_by_a == tuple(sorted(f"p{i}" for i in range(10))) and c.won_by_b == ("p11",)
    lo, hi = c.difference_ci95
    assert 0.25 < lo < c.difference < hi <= 1.0


def test_several_samples_use_the_permutation_test_and_rank_wins_by_margin(tmp_path: Path) -> None:
    a = read_score_file(write_result(tmp_path, "a", [[R, R], [R, W], [W, W]], protocol=PROTOCOL_B))
    b = read_score_file(write_result(tmp_path, "b", [[W, W], [W, W], [R, W]], protocol=PROTOCOL_B))
    c = compare_scores(a, b)
    assert c.test == "paired permutation"
    assert c.won_by_a == ("p0", "p1") and c.won_by_b == ("p2",)  # p0 by 1.0 before p1 by 0.5
    assert c.difference == pytest.approx((1.0 + 0.5 - 0.5) / 3)
    assert c.p_value == pytest.approx(6 / 8)  # |sum| >= 1 for 6 of the 8 sign patterns of (1, .5, -.5)
    # Three problems can never reach p < 0.05: nothing is detectable.
    assert c.detectable_fixed is None and c.detectable_population is None


def test_comparison_reports_the_minimum_detectable_difference(tmp_path: Path) -> None:
    a_grid = [[j < (i * 3) % 5 for j in range(4)] for i in range(30)]
    b_grid = [[j < (i * 2) % 5 for j in range(4)] for i in range(30)]
    a = read_score_file(write_result(tmp_path, "a", a_grid, protocol=PROTOCOL_B))
    b = read_score_file(write_result(tmp_path, "b", b_grid, protocol=PROTOCOL_B))
    c = compare_scores(a, b)
    design = paired_design([sum(r) for r in a_grid], 4, [sum(r) for r in b_grid], 4)
    assert design.fixed is not None
    assert c.detectable_population == minimum_detectable_difference(design.population)
    assert c.detectable_fixed == minimum_detectable_difference(design.fixed)
    assert c.detectable_population is not None and 0.05 < c.detectable_population < 0.5


def test_different_protocols_are_refused_unless_forced(tmp_path: Path) -> None:
    a = read_score_file(write_result(tmp_path, "a", [[R]] * 4))
    b = read_score_file(write_result(tmp_path, "b", [[R, W]] * 4, protocol=PROTOCOL_B))
    with pytest.raises(
        ComparisonError, match=r"differ in sampling\.n, sampling\.temperature, sampling\.top_p"
    ):
        compare_scores(a, b)
    forced = compare_scores(a, b, force=True)
    assert forced.protocol_differences == ("sampling.n", "sampling.temperature", "sampling.top_p")
    assert forced.difference == pytest.approx(0.5)


def test_different_problem_sets_are_refused_even_when_forced(tmp_path: Path) -> None:
    a = read_score_file(write_result(tmp_path, "a", [[R]] * 4))
    b = read_score_file(write_result(tmp_path, "b", [[R]] * 5, protocol=PROTOCOL_A))
    with pytest.raises(ComparisonError, match=r"cover different problems \(0 only in the first.*'p4'"):
        compare_scores(a, b, force=True)


def harness(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_command_line_compare(tmp_path: Path) -> None:
    a = write_result(tmp_path, "strong", [[R]] * 10 + [[W]] * 2)
    b = write_result(tmp_path, "weak", [[W]] * 10 + [[W], [R]])
    other = write_result(tmp_path, "other", [[R, W]] * 12, protocol=PROTOCOL_B, run_id="b")
    done = harness("compare", str(a), str(b), "--resamples", "500")
    assert done.returncode == 0, done.stderr
    assert "A - B        +75.0 points" in done.stdout
    assert f"p-value      {mcnemar_exact_p(10, 1):.4g} (exact McNemar test" in done.stdout
    assert "won by A     10: p0, p1" in done.stdout and "won by B     1: p11" in done.stdout
    # 12 problems, one sample each: only the population view can be planned.
    assert "over a population of problems, not estimable on these problems (needs 2+ samples" in done.stdout
    refused = harness("compare", str(a), str(other))
    assert refused.returncode == 2 and "different protocols" in refused.stderr
    assert "--force" in refused.stderr and "Traceback" not in refused.stderr
    forced = harness("compare", str(a), str(other), "--force", "--resamples", "200")
    assert forced.returncode == 0, forced.stderr
    assert forced.stdout.startswith("WARNING: protocols differ: sampling.n, sampling.temperature")
