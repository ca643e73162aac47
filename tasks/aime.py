"""AIME 2024 and AIME 2025: 30 problems each, integer answers 0-999."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from harness.scoring.math import AIME_GRADER
from harness.types import DatasetSource, Problem, TaskSpec

from .math_common import MATH_TEMPLATE, math_problem

# AIME answers are short but reasoning models think for a long time; 32k is the R1 protocol's budget.
AIME_DEFAULTS = {"max_new_tokens": 32768}


_AIME_ID = re.compile(r"^(\d{4})-(I{1,2})-(\d{1,2})$")


def aime_problem(row: Mapping[str, Any], index: int) -> Problem:
    """An AIME problem; ids such as 2024-II-7 also give its year, contest and difficulty for reports.

    The difficulty is the problem's place in the paper: AIME orders its 15 problems from easiest to
    hardest, so problems 1-5, 6-10 and 11-15 are the usual three bands.
    """
    problem = math_problem(row, index, "id", "problem_idx", year="year")
    match = _AIME_ID.match(problem.id)
    if match is None:
        return problem
    year, part, number = match.groups()
    band = min((int(number) - 1) // 5, 2)
    derived = {
        "year": int(year),
        "contest": f"{year} {part}",
        "difficulty": ("problems 1-5", "problems 6-10", "problems 11-15")[band],
    }
    return dataclasses.replace(problem, meta={**derived, **problem.meta})


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
