"""MATH-500: the 500-problem test subset of MATH used by PRM800K and most reasoning-model reports."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.scoring.math import MATH_GRADER
from harness.types import DatasetSource, Problem, TaskSpec

from .math_common import MATH_TEMPLATE, math_problem


def math500_problem(row: Mapping[str, Any], index: int) -> Problem:
    return math_problem(row, index, "unique_id", subject="subject", level="level")


TASKS = [
    TaskSpec(
        name="math500",
        version="1",
        description="MATH-500 (free-form answers checked for mathematical equivalence with Math-Verify)",
        source=DatasetSource(hub_id="HuggingFaceH4/MATH-500", split="test"),
        to_problem=math500_problem,
        prompt_template=MATH_TEMPLATE,
        grader=MATH_GRADER,
        defaults={"max_new_tokens": 4096},
        problem_count=500,
    )
]
