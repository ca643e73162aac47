"""Small task sets the project writes itself, for the quickstart and the tests.

The problems are deliberately easy so that even the 135M-parameter embedded model scores above zero; they
check the plumbing end to end, not mathematical ability.
"""

from __future__ import annotations

from harness.scoring.code_grader import CODE_GRADER
from harness.scoring.math import GSM8K_GRADER
from harness.types import DatasetSource, FieldSpec, TaskSpec

from . import livecodebench
from .math_common import MATH_TEMPLATE

SAMPLE_MATH = TaskSpec(
    name="sample-math",
    version="1",
    description="24 easy arithmetic and word problems written for this project (quickstart, tests)",
    # Relative to this file's folder; rows are {"id", "problem", "answer"}, so fields are all it takes.
    source=DatasetSource(hub_id=None, bundled_file="data/sample_math.jsonl"),
    to_problem=FieldSpec(),  # the defaults: id, problem and answer
    prompt_template=MATH_TEMPLATE,
    grader=GSM8K_GRADER,
    defaults={"max_new_tokens": 256},
    problem_count=24,
)

# Rows in LiveCodeBench's format, so the code path (prompts, stdin and functional tests) is LCB's.
SAMPLE_CODE = TaskSpec(
    name="sample-code",
    version="1",
    description="10 easy stdin/stdout and functional Python problems written for this project",
    source=DatasetSource(hub_id=None, bundled_file="data/sample_code.jsonl"),
    to_problem=livecodebench.to_problem,
    prompt_template=livecodebench.PROMPT_TEMPLATE,
    grader=CODE_GRADER,
    defaults={"max_new_tokens": 384},
    problem_count=10,
)

TASKS = [SAMPLE_MATH, SAMPLE_CODE]
