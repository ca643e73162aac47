from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import pytest

from harness.scoring.metrics import (
    MetricsError,
    TaskMetrics,
    compute_metrics,
    k_values,
    metrics_to_dict,
    pass_at_k,
)
from harness.types import Score, Verdict

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def score(pid: str, idx: int, ok: bool, extracted: str | None = "x") -> Score:
    if extracted is None:
        return Score(pid, idx, Verdict.NO_ANSWER, None)
    return Score(pid, idx, Verdict.CORRECT if ok else Verdict.WRONG, extracted)


def grid(results: dict[str, list[bool]]) -> list[Score]:
    return [score(pid, i, ok) for pid, row in results.items() for i, ok in enumerate(row)]


# pass@k


def test_pass_at_k_known_values() -> None:
    assert pass_at_k(5, 2, 1) == pytest.approx(0.4)
    assert pass_at_k(5, 2, 2) == pytest.approx(1 - math.comb(3, 2) / math.comb(5, 2))  # 0.7
    assert pass_at_k(8, 1, 8) == 1.0
    assert pass_at_k(8, 0, 4) == 0.0
    assert pass_at_k(1, 1, 1) == 1.0


def test_pass_at_k_matches_brute_force_over_all_subsets() -> None:
    for n in range(1, 8):
        for c in range(n + 1):
            outcomes = [True] * c + [False] * (n - c)
            for k in range(1, n + 1):
                subsets = list(itertools.combinations(outcomes, k))
                expected = sum(any(s) for s in subsets) / len(subsets)
                assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12), (n, c, k)


def test_pass_at_k_rejects_k_larger_than_n() -> None:
    with pytest.raises(ValueError, match="k=5 with n=4"):
        pass_at_k(4, 1, 5)
    with pytest.raises(ValueError, match="c <= n"):
        pass_at_k(4, 5, 1)


def test_pass_at_k_stays_finite_for_large_n() -> None:
    value = pass_at_k(2000, 3, 1000)
    assert value == pytest.approx(1 - math.comb(1997, 1000) / math.comb(2000, 1000), rel=1e-9)


def test_k_values_are_powers_of_two_plus_n() -> None:
    assert k_values(1) == [1]
    assert k_values(4) == [1, 2, 4]
    assert k_values(6) == [1, 2, 4, 6]
    assert k_values(64) == [1, 2, 4, 8, 16, 32, 64]


# compute_metrics


def test_accuracy_pass_and_counts_on_a_small_grid() -> None:
    results = {"a": [True, False, False, False], "b": [True, True, True, True], "c": [False] * 4}
    m = compute_metrics(grid(results), ["a", "b", "c"], n=4, bootstrap_resamples=500)
    assert m.accuracy == pytest.approx(5 / 12)
    assert m.pass_at_k[1] == pytest.approx(5 / 12)
    assert m.pass_at_k[4] == pytest.approx(2 / 3)
    assert m.pass_at_k[2] == pytest.approx((pass_at_k(4, 1, 2) + 1.0 + 0.0) / 3)
    assert (m.n_problems, m.n_samples) == (3, 12)
    assert m.per_problem == {"a": (1, 4), "b": (4, 4), "c": (0, 4)}
    assert m.verdict_counts == {"correct": 5, "wrong": 7}


def maj(samples: list[Score], k: int) -> float:
    """maj@k of a single problem whose samples are `samples`."""
    m = compute_metrics(samples, [samples[0].problem_id], n=len(samples), bootstrap_resamples=10)
    return m.maj_at_k[k]


def test_maj_at_k_majority_wins_over_a_single_correct_answer() -> None:
    samples = [score("p", 0, False, "5"), score("p", 1, True, "7"), score("p", 2, False, "5")]
    assert maj(samples, 1) == 0.0
    assert maj(samples, 3) == 0.0  # "5" twice beats the correct "7" once


def test_maj_at_k_tie_goes_to_the_earliest_answer() -> None:
    right_first = [score("p", 0, True, "3"), score("p", 1, False, "4")]
    wrong_first = [score("p", 0, False, "4"), score("p", 1, True, "3")]
    assert maj(right_first, 2) == 1.0
    assert maj(wrong_first, 2) == 0.0


def test_maj_at_k_uses_only_the_first_k_samples() -> None:
    samples = [
        score("p", 0, True, "3"),
        score("p", 1, False, "4"),
        score("p", 2, False, "4"),
        score("p", 3, False, "4"),
    ]
    assert maj(samples, 1) == 1.0
    assert maj(samples, 2) == 1.0
    assert maj(samples, 4) == 0.0


def test_maj_at_k_abstentions_do_not_vote() -> None:
    nobody = [score("p", 0, False, None), score("p", 1, False, None)]
    assert maj(nobody, 2) == 0.0
    one_voice = [
        score("p", 0, False, None),
        score("p", 1, False, None),
        score("p", 2, True, "9"),
        score("p", 3, False, None),
    ]
    assert maj(one_voice, 2) == 0.0
    assert maj(one_voice, 4) == 1.0


def test_maj_at_k_averages_over_problems() -> None:
    scores = [
        score("a", 0, True, "1"),
        score("a", 1, True, "1"),
        score("b", 0, False, "2"),
        score("b", 1, True, "3"),
        score("c", 0, False, None),
        score("c", 1, False, "8"),
    ]
    m = compute_metrics(scores, ["a", "b", "c"], n=2, bootstrap_resamples=10)
    assert m.maj_at_k == {1: pytest.approx(1 / 3), 2: pytest.approx(1 / 3)}


def test_maj_at_k_votes_ignore_surrounding_whitespace() -> None:
    scores = [
        score("p", 0, True, "12"),
        score("p", 1, True, " 12\n"),
        score("p", 2, False, "13"),
        score("p", 3, False, "13"),
    ]
    m = compute_metrics(scores, ["p"], n=4, bootstrap_resamples=100)
    assert m.maj_at_k[4] == 1.0  # "12" twice, first at index 0, wins the 2-2 tie against "13"


def test_bootstrap_ci_contains_mean_is_seeded_and_narrows() -> None:
    def metrics(n_problems: int, seed: int) -> TaskMetrics:
        # Per-problem accuracies 0/8 .. 7/8, so the resampled means are not all on a coarse grid.
        results = {f"p{i}": [j < (i * 5) % 8 for j in range(8)] for i in range(n_problems)}
        return compute_metrics(
            grid(results), list(results), n=8, bootstrap_seed=seed, bootstrap_resamples=2000
        )

    small = metrics(30, seed=7)
    lo, hi = small.accuracy_ci95
    assert lo < small.accuracy < hi
    assert metrics(30, seed=7).accuracy_ci95 == small.accuracy_ci95
    assert metrics(30, seed=8).accuracy_ci95 != small.accuracy_ci95
    large = metrics(600, seed=7)
    assert (large.accuracy_ci95[1] - large.accuracy_ci95[0]) < (hi - lo) / 3


def test_bootstrap_ci_of_a_constant_score_is_a_point() -> None:
    m = compute_metrics(grid({"a": [True], "b": [True]}), ["a", "b"], n=1, bootstrap_resamples=100)
    assert m.accuracy_ci95 == (1.0, 1.0)


def test_missing_sample_raises_and_names_it() -> None:
    scores = grid({"a": [True, False], "b": [True, True]})[:-1]  # drop ("b", 1)
    with pytest.raises(MetricsError, match=r"1 missing: \('b', 1\)"):
        compute_metrics(scores, ["a", "b"], n=2)


def test_duplicate_and_unknown_samples_raise() -> None:
    scores = [*grid({"a": [True, False]}), score("a", 1, True), score("zz", 0, True), score("a", 2, True)]
    with pytest.raises(MetricsError) as info:
        compute_metrics(scores, ["a"], n=2)
    message = str(info.value)
    assert "1 duplicate: ('a', 1)" in message
    assert "2 unknown" in message and "('zz', 0)" in message and "('a', 2)" in message


def test_empty_problem_list_raises() -> None:
    with pytest.raises(MetricsError, match="empty"):
        compute_metrics([], [], n=1)


def test_metrics_to_dict_is_json_ready_with_named_keys() -> None:
    m = compute_metrics(
        grid({"a": [True, False, True], "b": [False] * 3}), ["a", "b"], n=3, bootstrap_resamples=100
    )
    d = json.loads(json.dumps(metrics_to_dict(m), allow_nan=False))
    assert set(d) >= {
        "accuracy",
        "accuracy_ci95",
        "pass@1",
        "pass@2",
        "pass@3",
        "maj@1",
        "maj@2",
        "maj@3",
        "n_problems",
        "n_samples",
    }
    assert "pass@4" not in d
    assert d["per_problem"] == {"a": [2, 3], "b": [0, 3]}
    assert d["n_samples"] == 6 and d["samples_per_problem"] == 3


def test_real_graded_outputs_math_cot_100() -> None:
    """100 MATH problems × 8 samples graded by the Qwen2.5-Math harness (728 correct)."""
    path = DATA / "graded_outputs" / "qwen25math_math_cot_100.jsonl"
    if not path.is_file():
        pytest.skip(f"shared benchmark data not found at {path}")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    scores = [score(r["problem_id"], r["sample_idx"], r["label_correct"], r["harness_pred"]) for r in rows]
    ids = list(dict.fromkeys(r["problem_id"] for r in rows))
    m = compute_metrics(scores, ids, n=8, bootstrap_resamples=1000)
    assert m.accuracy == pytest.approx(728 / 800)
    by_problem: dict[str, list[dict]] = {}
    for r in rows:
        by_problem.setdefault(r["problem_id"], []).append(r)
    solved_any = sum(any(r["label_correct"] for r in group) for group in by_problem.values())
    assert m.pass_at_k[8] == pytest.approx(solved_any / 100)
    assert m.pass_at_k[1] <= m.maj_at_k[8] <= m.pass_at_k[8]
