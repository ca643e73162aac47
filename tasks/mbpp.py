"""MBPP (full, 974 problems, or the 500-problem test split on the hub), graded by its assert lists."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.scoring import judge_spec
from harness.scoring.code_grader import CODE_GRADER
from harness.types import DatasetSource, Problem, TaskSpec

PROMPT_TEMPLATE = "{problem}"


def to_problem(row: Mapping[str, Any], index: int) -> Problem:
    asserts = list(row["test_list"])
    # The first assert shows the expected function name and signature, as the MBPP paper's prompt does.
    statement = (
        f"{str(row['text']).strip()}\nYour code should pass this test:\n{asserts[0]}\n\n"
        "Reply with the Python code in one code block."
    )
    program = f"{row.get('test_setup_code') or ''}\n" + "\n".join(asserts) + "\n"
    # The judge runs the asserts; the names they take from the solution are those the reference
    # solution defines (functions, and classes such as the `Node` a test builds a tree from).
    return Problem(
        id=str(row["task_id"]),
        prompt=statement,
        tests=({"input": program, "output": "", "testtype": "python_asserts"},),
        meta={
            "challenge_tests": list(row.get("challenge_test_list") or []),
            "judge": judge_spec.spec(program, reference_code=str(row["code"])),
        },
    )


MBPP = TaskSpec(
    name="mbpp",
    version="2",
    description="MBPP Python problems, pass@1 with the dataset's assert statements",
    source=DatasetSource(hub_id="google-research-datasets/mbpp", config="full", split="test"),
    to_problem=to_problem,
    prompt_template=PROMPT_TEMPLATE,
    grader=CODE_GRADER,
    defaults={"max_new_tokens": 1024},
)

TASKS = [MBPP]
