"""Minerva Math: 272 MIT OpenCourseWare problems (physics, chemistry, astronomy, economics, ...).

This is the quantitative-reasoning set of the Minerva paper (Lewkowycz et al., 2022) as Qwen2.5-Math's
evaluation data ships it (mirrored on the hub as math-ai/minervamath). Its rows carry a worked `solution`
whose last \\boxed{} is the reference answer, often a rounded number with a unit outside the box or a
number in scientific notation ("4.5e33"); hub copies may carry the extracted `answer` instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from harness.scoring.math_extract import last_boxed
from harness.scoring.math_forms import MINERVA_GRADER
from harness.types import DatasetSource, Problem, TaskSpec

from .math_common import MATH_TEMPLATE, first_field

# Two golds are written as Python rather than LaTeX: "np.arcsin(10/13)" and "-1./3".
_NUMPY_FUNCTION = re.compile(r"\bnp\.([a-z]+)\(")
_FLOAT_POINT = re.compile(r"(\d)\.(?=/)")
# One gold's box spans two math spans: "x_{0} \cos (\omega t)+$ $\dot{x}_{0} \sin (\omega t) / \omega".
_STRAY_DOLLAR = re.compile(r"(?<!\\)\$")


def minerva_answer(row: Mapping[str, Any]) -> str:
    if row.get("answer") is not None:
        answer: str | None = str(row["answer"]).strip()
    else:
        answer = last_boxed(str(first_field(row, "solution")))
    if answer is None:
        raise ValueError("field 'solution' has no \\boxed{} answer and there is no 'answer' field")
    answer = _FLOAT_POINT.sub(r"\1", _NUMPY_FUNCTION.sub(r"\\\1(", answer))
    return _STRAY_DOLLAR.sub("", answer).strip()


def minerva_problem(row: Mapping[str, Any], index: int) -> Problem:
    # `idx` is the row's position in the published file (0-271), the number other harnesses' outputs
    # cite (e.g. "minerva_math_idx41"); copies without it are numbered by row, in the same order.
    idx = row.get("idx")
    problem_id = str(idx) if isinstance(idx, int) and not isinstance(idx, bool) else str(index)
    meta = {"course": row["type"]} if row.get("type") else {}
    return Problem(
        id=problem_id,
        prompt=str(first_field(row, "problem", "question")).strip(),
        answer=minerva_answer(row),
        meta=meta,
    )


TASKS = [
    TaskSpec(
        name="minerva_math",
        version="1",
        description="Minerva Math (272 MIT OCW science and engineering problems; units, scientific notation)",
        source=DatasetSource(hub_id="math-ai/minervamath", split="test"),
        to_problem=minerva_problem,
        prompt_template=MATH_TEMPLATE,
        grader=MINERVA_GRADER,
        defaults={"max_new_tokens": 32768},
        problem_count=272,
    )
]
