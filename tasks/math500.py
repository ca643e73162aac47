"""MATH-500: the 500-problem test subset of MATH used by PRM800K and most reasoning-model reports."""

from __future__ import annotations

from harness.scoring.math import MATH_GRADER
from harness.types import DatasetSource, FieldSpec, TaskSpec

from .math_common import MATH_TEMPLATE

# The hub rows (and the offline copies of them) read as they are: problem, answer, a unique_id such as
# "test/precalculus/807.json", subject and level.
MATH500_FIELDS = FieldSpec(id="unique_id", metadata=("subject", "level"))

TASKS = [
    TaskSpec(
        name="math500",
        version="1",
        description="MATH-500 (free-form answers checked for mathematical equivalence with Math-Verify)",
        source=DatasetSource(hub_id="HuggingFaceH4/MATH-500", split="test"),
        to_problem=MATH500_FIELDS,
        prompt_template=MATH_TEMPLATE,
        grader=MATH_GRADER,
        defaults={"max_new_tokens": 4096},
        problem_count=500,
    )
]
