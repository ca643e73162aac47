"""HumanEval and MBPP tasks build assert-style tests that the code grader runs."""

from __future__ import annotations

import json
from pathlib import Path

from harness.scoring.code_grader import score_code
from harness.tasks.humaneval import HUMANEVAL
from harness.tasks.mbpp import MBPP
from harness.types import Completion, Verdict


def test_humaneval_problem_and_a_model_style_reply(shared_data: Path) -> None:
    row = json.loads((shared_data / "humaneval.jsonl").read_text().splitlines()[0])
    problem = HUMANEVAL.to_problem(row, 0)
    assert problem.id == "HumanEval/0" and problem.tests and problem.tests[0]["testtype"] == "python_asserts"
    # A reply with the bare function and no imports still runs: the prompt's imports come first.
    reply = (
        "```python\ndef has_close_elements(numbers: List[float], threshold: float) -> bool:\n"
        "    return any(abs(a - b) < threshold for i, a in enumerate(numbers) for b in numbers[i + 1:])\n```"
    )
    score = score_code(problem, Completion("humaneval", problem.id, 0, reply, 5, "stop"))
    assert score.verdict == Verdict.PASSED
    wrong = reply.replace("< threshold", "> threshold")
    assert (
        score_code(problem, Completion("humaneval", problem.id, 0, wrong, 5, "stop")).verdict
        == Verdict.WRONG_ANSWER
    )


def test_mbpp_problem_ids_and_prompt(shared_data: Path) -> None:
    row = json.loads((shared_data / "mbpp_full_deepseek.jsonl").read_text().splitlines()[0])
    problem = MBPP.to_problem(row, 0)
    assert problem.id == "1" and "assert min_cost" in problem.prompt
    reply = f"```python\n{row['code']}\n```"
    assert score_code(problem, Completion("mbpp", "1", 0, reply, 5, "stop")).verdict == Verdict.PASSED
