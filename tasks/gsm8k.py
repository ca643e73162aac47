"""GSM8K test split: grade-school word problems with numeric answers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.scoring.math import GSM8K_GRADER
from harness.types import DatasetSource, Problem, TaskSpec

from .math_common import MATH_TEMPLATE, first_field, problem_id


def gsm8k_problem(row: Mapping[str, Any], index: int) -> Problem:
    # The hub rows carry the worked solution ending in "#### N"; prepared copies carry `final_answer`.
    if row.get("final_answer") is not None:
        answer = str(row["final_answer"])
    else:
        solution = str(first_field(row, "answer"))
        if "####" not in solution:
            raise ValueError("field 'answer' has no '#### <number>' line and there is no 'final_answer'")
        answer = solution.rsplit("####", 1)[1]
    answer = answer.strip().replace(",", "")
    statement = str(first_field(row, "question", "problem")).strip()
    return Problem(id=problem_id(row, index, "id"), prompt=statement, answer=answer)


TASKS = [
    TaskSpec(
        name="gsm8k",
        version="1",
        description="GSM8K test split (1319 word problems, numeric answers)",
        source=DatasetSource(hub_id="openai/gsm8k", config="main", split="test"),
        to_problem=gsm8k_problem,
        prompt_template=MATH_TEMPLATE,
        grader=GSM8K_GRADER,
        defaults={"max_new_tokens": 1024},
        problem_count=1319,
    )
]
