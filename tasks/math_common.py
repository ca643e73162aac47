"""Shared pieces of the built-in math tasks: the prompt and a row-to-Problem converter.

Plugins may import these, but nothing in harness/ depends on this module.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from harness.types import Problem

# The instruction DeepSeek-R1 and most open reasoning models are evaluated with.
REASON_STEP_BY_STEP = "Please reason step by step, and put your final answer within \\boxed{}."
MATH_TEMPLATE = "{problem}\n" + REASON_STEP_BY_STEP

_AOPS_URL = re.compile(r"(\d{4})_AIME_(I{1,2})_Problems/Problem_(\d+)")
_AOPS_AMC_URL = re.compile(r"(\d{4})_AMC_(\d{1,2}[AB])_Problems/Problem_(\d+)")


def first_field(row: Mapping[str, Any], *names: str) -> Any:
    """The first of `names` present in the row (datasets spell the same field differently)."""
    for name in names:
        if name in row and row[name] is not None:
            return row[name]
    raise KeyError(" or ".join(repr(n) for n in names))


def problem_id(row: Mapping[str, Any], index: int, *id_fields: str) -> str:
    """The dataset's own id when it has one, else an AIME/AMC id parsed from an AoPS url, else the row index.

    AoPS urls give "2024-II-7" (AIME) and "2023-12A-1" (AMC 12A problem 1).
    """
    for name in id_fields:
        value = row.get(name)
        if isinstance(value, str) and value:
            return value
    url = row.get("url")
    if isinstance(url, str) and (match := _AOPS_URL.search(url) or _AOPS_AMC_URL.search(url)):
        year, part, number = match.groups()
        return f"{year}-{part}-{number}"
    for name in id_fields:
        value = row.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
    return str(index)


def math_problem(row: Mapping[str, Any], index: int, *id_fields: str, **meta_fields: str) -> Problem:
    statement = first_field(row, "problem", "question", "Question")
    answer = first_field(row, "answer", "Answer", "final_answer")
    meta = {key: row[field] for key, field in meta_fields.items() if row.get(field) is not None}
    return Problem(
        id=problem_id(row, index, *id_fields),
        prompt=str(statement).strip(),
        answer=str(answer).strip(),
        meta=meta,
    )


def number_text(value: Any) -> str:
    """A numeric answer as a bare LaTeX number: 27.0 -> "27", 0.5 -> "0.5", "27" stays "27".

    Some datasets (Qwen2.5-Math's AMC 2023) store integer answers as floats; "27.0" would still grade
    equal, but the reference shown in score files and majority votes should read as the contest wrote it.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
