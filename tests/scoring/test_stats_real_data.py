"""The statistics on real graded outputs from ../shared/data (skipped when the folder is absent)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from harness.reporting.compare import mcnemar_exact_p, paired_t_interval
from harness.scoring.power import minimum_detectable_difference, paired_design
from harness.scoring.ranks import rank_intervals
from harness.scoring.stats import samples_needed, variance_split


def correct_by_model(path: Path, key: str) -> dict[str, dict[str, int]]:
    """model -> problem id -> number of correct samples, from a graded-outputs file."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for line in path.read_text().splitlines():
        row = json.loads(line)
        counts[row["model"]][row[key]] += str(row["label_correct"]) == "True"
    return counts


def test_math_100_problems_8_samples_is_limited_by_its_problems(shared_data: Path) -> None:
    # One model, 100 MATH problems × 8 samples, 728 of 800 correct (data README).
    [counts] = correct_by_model(
        shared_data / "graded_outputs/qwen25math_math_cot_100.jsonl", "problem_id"
    ).values()
    split = variance_split(list(counts.values()), 8)
    assert split.accuracy == 0.91
    assert split.between is not None and split.within is not None
    assert split.between / (split.between + split.within) > 0.9  # which problems, not which samples
    assert split.se_fixed is not None and split.se_population is not None
    assert split.se_fixed < split.se_population / 4
    # ±2 points on these problems takes a few samples; over a population, 100 problems never get there.
    assert samples_needed(split, 0.02, "fixed").samples_per_problem == 3
    population = samples_needed(split, 0.02, "population")
    assert population.samples_per_problem is None and (population.problems_needed or 0) > 500


def test_o1_mini_against_o1_preview_on_livecodebench(shared_data: Path) -> None:
    # 880 LCB v5 problems, one graded sample each per model (official leaderboard submissions).
    counts = correct_by_model(
        shared_data / "code_solutions/lcb_v5_o1_submissions_graded.jsonl", "question_id"
    )
    mini, preview = counts["o1-mini-2024-09-12"], counts["o1-preview-2024-09-12"]
    problems = sorted(mini)
    a, b = [mini[q] for q in problems], [preview[q] for q in problems]
    d = np.array(a) - np.array(b)
    assert d.mean() == (602 - 489) / 880
    assert mcnemar_exact_p(int(np.sum(d > 0)), int(np.sum(d < 0))) < 1e-12
    lo, hi = paired_t_interval(d)
    assert 0.09 < lo < hi < 0.17
    detectable = minimum_detectable_difference(paired_design(a, 1, b, 1).population)
    assert detectable is not None and 0.03 < detectable < 0.06  # 880 problems see a 13-point gap easily
    # With 30 of these problems (an AIME-sized set) only a gap of well over 20 points is detectable.
    small = minimum_detectable_difference(paired_design(a[:30], 1, b[:30], 1).population)
    assert small is not None and small > 0.2


def test_gsm8k_four_systems_are_ranked_apart(shared_data: Path) -> None:
    counts = correct_by_model(
        shared_data / "graded_outputs/openai_gsm8k_example_model_solutions_first500.jsonl", "problem_id"
    )
    results = {model: {pid: (c, 1) for pid, c in per.items()} for model, per in counts.items()}
    intervals = rank_intervals(results, seed=0)
    assert [(r.model, r.best, r.worst) for r in intervals] == [
        ("175b_verification", 1, 1),
        ("6b_verification", 2, 2),
        ("175b_finetuning", 3, 3),
        ("6b_finetuning", 4, 4),
    ]
