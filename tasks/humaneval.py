"""HumanEval: 164 hand-written Python functions, graded by the dataset's own `check(candidate)`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.scoring import judge_spec
from harness.scoring.code_grader import CODE_GRADER
from harness.types import DatasetSource, Problem, TaskSpec

PROMPT_TEMPLATE = (
    "Complete the Python function below. Reply with the whole function (and any imports it needs) in one "
    "Python code block.\n\n```python\n{problem}```"
)


def to_problem(row: Mapping[str, Any], index: int) -> Problem:
    # The prompt goes in front of the model's code, so a reply holding only the function still has the
    # imports the prompt declares; a prompt's def with a docstring and no body is valid on its own.
    # The judge runs `check` with the prompt's own helpers (e.g. encode_cyclic) and a stand-in for the
    # entry point that calls the solution's function in the sandboxed candidate process.
    entry_point = str(row["entry_point"])
    stub = f"{row['prompt']}\n    pass\n\n"
    test = f"{row['test']}\n\ncheck({entry_point})\n"
    return Problem(
        id=str(row["task_id"]),
        prompt=str(row["prompt"]),
        tests=({"input": test, "output": "", "testtype": "python_asserts"},),
        meta={
            "entry_point": entry_point,
            "code_prefix": stub,
            "judge": judge_spec.spec(test, context=stub, entry_points=(entry_point,)),
        },
    )


HUMANEVAL = TaskSpec(
    name="humaneval",
    version="2",
    description="HumanEval (164 Python functions), pass@1 with the original check() tests",
    source=DatasetSource(hub_id="openai/openai_humaneval", split="test"),
    to_problem=to_problem,
    prompt_template=PROMPT_TEMPLATE,
    grader=CODE_GRADER,
    defaults={"max_new_tokens": 1024},
    problem_count=164,
)

TASKS = [HUMANEVAL]
