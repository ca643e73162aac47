"""AMC 2023: the 40 AMC 12A/12B 2023 problems with numeric answers that reasoning-model reports use.

The set is the one in Qwen2.5-Math's evaluation data (mirrored on the hub as math-ai/amc23), which the
DeepSeek-R1 distill and open-r1 reports quote as "AMC23": multiple-choice problems rewritten to ask for the
value, answers stored as floats (27.0).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.scoring.math import MATH_GRADER
from harness.types import DatasetSource, Problem, TaskSpec

from .math_common import MATH_TEMPLATE, first_field, number_text, problem_id


def amc_problem(row: Mapping[str, Any], index: int) -> Problem:
    # The rows' own `id` (0-49 with gaps) only numbers a filtered list; the AoPS url names the contest
    # and problem ("2023-12A-1"), which survives any reordering or re-export of the set.
    statement = first_field(row, "problem", "question")
    meta = {"url": row["url"]} if row.get("url") else {}
    return Problem(
        id=problem_id(row, index),
        prompt=str(statement).strip(),
        answer=number_text(first_field(row, "answer")),
        meta=meta,
    )


TASKS = [
    TaskSpec(
        name="amc23",
        version="1",
        description="AMC 12 2023 (40 problems with numeric answers, as in Qwen2.5-Math's evaluation set)",
        source=DatasetSource(hub_id="math-ai/amc23", split="test"),
        to_problem=amc_problem,
        prompt_template=MATH_TEMPLATE,
        grader=MATH_GRADER,
        defaults={"max_new_tokens": 32768},
        problem_count=40,
    )
]
