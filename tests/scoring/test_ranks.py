"""Rank intervals (scoring/ranks.py) on cases whose answer is clear; coverage is simulated elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.reporting.leaderboard import build_leaderboard, column_rank_intervals
from harness.scoring.ranks import rank_intervals
from harness.scoring.stats import StatsError
from tests.reporting.score_files import write_result


def per_problem(counts: list[int], n: int) -> dict[str, tuple[int, int]]:
    return {f"p{i:03d}": (c, n) for i, c in enumerate(counts)}


def test_models_far_apart_get_single_ranks() -> None:
    results = {
        "weak": per_problem([i % 5 == 0 for i in range(100)], 1),  # 20%
        "strong": per_problem([i % 5 != 0 for i in range(100)], 1),  # 80%
        "middle": per_problem([i % 2 == 0 for i in range(100)], 1),  # 50%
    }
    intervals = rank_intervals(results, seed=1)
    assert [(r.model, r.rank, r.best, r.worst) for r in intervals] == [
        ("strong", 1, 1, 1),
        ("middle", 2, 2, 2),
        ("weak", 3, 3, 3),
    ]
    assert intervals[0].accuracy == pytest.approx(0.8)


def test_close_models_share_an_interval_and_identical_ones_a_rank() -> None:
    base = [8, 7, 0, 0, 3, 8, 5, 1, 0, 8, 6, 2, 8, 0, 4] * 2
    results = {
        "a": per_problem(base, 8),
        "a-copy": per_problem(base, 8),
        # One sample fewer on six problems and one more on three others: 3 samples fewer in all.
        "b": per_problem([c - (i % 5 == 1) + (i % 10 == 3) for i, c in enumerate(base)], 8),
        "far": per_problem([c // 4 for c in base], 8),
    }
    # Over problems the copies draw the same problems, tie in every replicate and share the better
    # rank; on these problems each model's samples are redrawn on their own, so they part.
    for view, copies in (("population", (1, 1, 2)), ("fixed", (1, 1, 3))):
        by_model = {r.model: r for r in rank_intervals(results, view=view, seed=2)}
        a, copy, b = by_model["a"], by_model["a-copy"], by_model["b"]
        assert (a.rank, a.best, a.worst) == (copy.rank, copy.best, copy.worst) == copies, view
        # B is 2 samples behind but wins some replicates: a tie the data cannot break.
        assert (b.rank, b.best, b.worst) == (3, 1, 3), view
        assert (by_model["far"].best, by_model["far"].worst) == (4, 4)


def test_a_model_never_better_on_any_problem_ranks_below_over_problems() -> None:
    # Pairing: every resample of problems keeps B at or below A, so only sampling noise (the fixed
    # view) can make B look better.
    base = [8, 7, 0, 0, 3, 8, 5, 1, 0, 8, 6, 2, 8, 0, 4] * 2
    worse = [max(0, c - (i % 7 == 0)) for i, c in enumerate(base)]
    results = {"a": per_problem(base, 8), "b": per_problem(worse, 8)}
    population = {r.model: r for r in rank_intervals(results, seed=3)}
    assert (population["b"].best, population["b"].worst) == (2, 2)
    fixed = {r.model: r for r in rank_intervals(results, view="fixed", seed=3)}
    assert (fixed["b"].best, fixed["b"].worst) == (1, 2)


def test_results_are_seeded() -> None:
    results = {
        "x": per_problem([1, 0, 1, 1, 0, 1, 0, 1], 1),
        "y": per_problem([1, 1, 0, 1, 0, 0, 0, 1], 1),
    }
    assert rank_intervals(results, seed=5) == rank_intervals(results, seed=5)


def test_bad_inputs_are_refused_with_the_reason() -> None:
    one = {"only": per_problem([1, 2], 4)}
    with pytest.raises(StatsError, match="at least 2 models"):
        rank_intervals(one)
    mismatched = {"a": per_problem([1, 2], 4), "b": per_problem([1, 2, 3], 4)}
    with pytest.raises(StatsError, match="model 'b' covers different problems"):
        rank_intervals(mismatched)
    with pytest.raises(StatsError, match="need n >= 2"):
        rank_intervals({"a": per_problem([1, 0], 1), "b": per_problem([0, 0], 1)}, view="fixed")
    with pytest.raises(StatsError, match="0 <= correct <= n"):
        rank_intervals({"a": per_problem([5], 4), "b": per_problem([0], 4)})
    with pytest.raises(StatsError, match="0 < level < 1"):
        rank_intervals({"a": per_problem([1], 4), "b": per_problem([0], 4)}, level=95)


def test_a_leaderboard_column_ranks_its_models(tmp_path: Path) -> None:
    strong = [[i % 5 != 0] for i in range(40)]  # 80%
    close = [[i % 5 != 0 and i != 3] for i in range(40)]  # one problem fewer: 77.5%
    weak = [[i % 5 == 0] for i in range(40)]  # 20%
    for name, grid in (("strong", strong), ("close", close), ("weak", weak)):
        write_result(tmp_path, name, grid)
    board = build_leaderboard(tmp_path)
    [column] = board.columns
    intervals = column_rank_intervals(board, column, seed=4)
    assert [(r.model, r.rank, r.best, r.worst) for r in intervals] == [
        ("strong hf float32 rev1", 1, 1, 1),  # never below close: it wins every problem close wins
        ("close hf float32 rev1", 2, 1, 2),  # ties strong whenever problem 3 is not drawn
        ("weak hf float32 rev1", 3, 3, 3),
    ]
