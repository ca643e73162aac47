"""Regression floor: our graders keep agreeing with independently graded real model outputs.

The floors sit a little below the rates measured in benchmarks/math_grader_agreement.md, so an
extraction or equivalence regression shows up here without the test tracking label noise.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.scoring.math import score_gsm8k, score_math
from harness.types import Completion, Problem, Scorer

GRADED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "graded_outputs"

# (file, scorer, measured agreement, floor)
FLOORS = [
    ("qwen25math_math_cot_100.jsonl", score_math, 0.9988, 0.985),
    ("openai_gsm8k_example_model_solutions_first500.jsonl", score_gsm8k, 1.0, 0.99),
    ("prime_qwen25math7b_olympiadbench.jsonl", score_math, 0.9689, 0.95),
]


def agreement(path: Path, scorer: Scorer) -> float:
    agree = rows = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        problem = Problem(id=str(row["problem_id"]), prompt=row["problem"], answer=str(row["gold"]))
        completion = Completion("graded", problem.id, 0, row["model_output"], 0, "stop")
        agree += scorer(problem, completion).correct == bool(row["label_correct"])
        rows += 1
    return agree / rows


@pytest.mark.parametrize(
    ("name", "scorer", "measured", "floor"), [pytest.param(*f, id=f[0].split("_")[0]) for f in FLOORS]
)
def test_agreement_with_labelled_outputs_stays_above_floor(
    name: str, scorer: Scorer, measured: float, floor: float
):
    path = GRADED / name
    if not path.is_file():
        pytest.skip(f"{path} is absent (the shared benchmark data is not mounted)")
    rate = agreement(path, scorer)
    assert rate >= floor, f"{name}: agreement {rate:.2%} fell below {floor:.2%} (measured {measured:.2%})"


DATA = GRADED.parent


def reference_rows(name: str) -> list[dict]:
    path = DATA / name
    if not path.is_file():
        pytest.skip(f"{path} is absent (the shared benchmark data is not mounted)")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_every_math500_reference_solution_grades_correct():
    # Reference solutions box their answer mid-sentence, often with nested braces; all 500 must
    # extract to something equivalent to the dataset's answer.
    failures = []
    for row in reference_rows("math500.jsonl"):
        problem = Problem(id=row["unique_id"], prompt=row["problem"], answer=row["answer"])
        score = score_math(problem, Completion("math500", problem.id, 0, row["solution"], 0, "stop"))
        if not score.correct:
            failures.append((problem.id, row["answer"], score.extracted))
    assert failures == []


def test_every_gsm8k_reference_solution_grades_correct():
    # GSM8K solutions end with "#### N" after <<calc>> annotations full of other numbers.
    failures = []
    for row in reference_rows("gsm8k_test.jsonl"):
        problem = Problem(id=str(row["id"]), prompt=row["question"], answer=row["final_answer"])
        score = score_gsm8k(problem, Completion("gsm8k", problem.id, 0, row["answer"], 0, "stop"))
        if not score.correct:
            failures.append((problem.id, row["final_answer"], score.extracted))
    assert failures == []
