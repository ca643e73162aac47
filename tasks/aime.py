"""AIME 2024 and AIME 2025: 30 problems each, integer answers 0-999."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.scoring.math import AIME_GRADER
from harness.types import DatasetSource, Problem, TaskSpec

from .math_common import MATH_TEMPLATE, math_problem

# AIME answers are short but reasoning models think for a long time; 32k is the R1 protocol's budget.
AIME_DEFAULTS = {"max_new_tokens": 32768}


def aime_problem(row: Mapping[str, Any], index: int) -> Problem:
    return math_problem(row, index, "id", "problem_idx", year="year")


AIME24 = TaskSpec(
    name="aime24",
    version="1",
    description="AIME 2024 I and II (30 problems, integer answers)",
    source=DatasetSource(hub_id="HuggingFaceH4/aime_2024", split="train"),
    to_problem=aime_problem,
    prompt_template=MATH_TEMPLATE,
    grader=AIME_GRADER,
    defaults=AIME_DEFAULTS,
    problem_count=30,
)

AIME25 = TaskSpec(
    name="aime25",
    version="1",
    description="AIME 2025 I and II (30 problems, integer answers)",
    source=DatasetSource(hub_id="MathArena/aime_2025", split="train"),
    to_problem=aime_problem,
    prompt_template=MATH_TEMPLATE,
    grader=AIME_GRADER,
    defaults=AIME_DEFAULTS,
    problem_count=30,
)

TASKS = [AIME24, AIME25]
