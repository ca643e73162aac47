"""OlympiadBench: the 675 English, text-only, open-ended math problems (OE_TO_maths_en_COMP).

The set is the one in Qwen2.5-Math's evaluation data (mirrored on the hub as math-ai/olympiadbench; the
upstream is Hothan/OlympiadBench, config OE_TO_maths_en_COMP). `final_answer` is a list of LaTeX strings
in dollars; `is_multiple_answer` marks problems whose answer is several values ("$69$,$84$"), `unit` the
unit the answer is measured in (8 problems), `answer_type` one of Numerical, Expression, Equation,
Interval, Tuple.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.scoring.math_forms import OLYMPIAD_GRADER
from harness.types import DatasetSource, Problem, TaskSpec

from .math_common import MATH_TEMPLATE, first_field


def olympiad_answer(final_answer: Any) -> str:
    """The reference answers as one bare LaTeX string: dollars dropped, several answers comma-joined."""
    parts = final_answer if isinstance(final_answer, list) else [final_answer]
    # A few golds end with a sentence's full stop ("$(-\infty, 0) \cup\{1\}$."), which breaks parsing.
    answers = [str(part).replace("$", "").strip().rstrip(".").rstrip() for part in parts]
    answers = [answer for answer in answers if answer]
    if not answers:
        raise ValueError(f"field 'final_answer' holds no answer: {final_answer!r}")
    return ", ".join(answers)


# Golds that do not state the answer, by the dataset's id: 2045 asks for all positive t and its gold reads
# "$t(0,4]$" (the solution shows every t <= 4 works, and no larger one).
GOLD_ERRATA = {"2045": "(0,4]"}


def olympiad_problem(row: Mapping[str, Any], index: int) -> Problem:
    # The dataset's own `id` (1606, ...) names a problem in every copy and order; the row index is kept in
    # meta, since other harnesses' outputs cite rows ("olympiadbench_idx0" is the first row of the file).
    identifier = row.get("id")
    has_id = isinstance(identifier, (int, str)) and not isinstance(identifier, bool) and str(identifier)
    question = str(first_field(row, "question", "problem")).strip()
    context = str(row.get("context") or "").strip()
    meta: dict[str, Any] = {"row": index}
    for field in ("answer_type", "is_multiple_answer", "unit", "subfield"):
        if row.get(field) is not None:
            meta[field] = row[field]
    problem_id = str(identifier) if has_id else str(index)
    answer = GOLD_ERRATA.get(problem_id) or olympiad_answer(first_field(row, "final_answer", "answer"))
    return Problem(
        id=problem_id,
        prompt=f"{context}\n{question}" if context else question,
        answer=answer,
        meta=meta,
    )


TASKS = [
    TaskSpec(
        name="olympiadbench",
        version="1",
        description="OlympiadBench (675 English text-only open-ended math problems; lists, units, intervals)",
        source=DatasetSource(hub_id="math-ai/olympiadbench", split="test"),
        to_problem=olympiad_problem,
        prompt_template=MATH_TEMPLATE,
        grader=OLYMPIAD_GRADER,
        defaults={"max_new_tokens": 32768},
        problem_count=675,
    )
]
