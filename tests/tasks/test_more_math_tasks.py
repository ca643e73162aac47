"""amc23, minerva_math and olympiadbench read the real files (and hub-style rows) with the ids and golds
their graders need."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.data import load_problems
from harness.registry import discover
from harness.types import Problem


def load(shared_data: Path, task: str) -> tuple[Problem, ...]:
    return load_problems(discover().get(task), shared_data / "more_math" / f"{task}.jsonl").problems


def test_amc23_ids_name_the_contest_and_answers_drop_the_float(shared_data: Path) -> None:
    problems = load(shared_data, "amc23")
    assert len(problems) == 40 and len({p.id for p in problems}) == 40
    assert problems[0].id == "2023-12A-1" and problems[0].answer == "27"
    assert problems[-1].id == "2023-12B-9" and problems[-1].answer == "8"
    assert {p.id for p in problems if p.answer == "-1"} == {"2023-12A-25"}
    assert all("." not in p.answer for p in problems)  # every answer is an integer stored as a float


def test_minerva_ids_are_rows_and_golds_the_last_box(shared_data: Path) -> None:
    problems = load(shared_data, "minerva_math")
    assert [p.id for p in problems] == [str(i) for i in range(272)]
    by_id = {p.id: p for p in problems}
    assert by_id["0"].answer == "1.6"  # "\boxed{1.6} \mathrm{~cm}": the unit stays outside
    assert by_id["1"].answer == "4.5e33"
    assert by_id["5"].answer == r"\arcsin(10/13)"  # written np.arcsin(10/13) in the file
    assert by_id["38"].answer == "-1/3"  # written -1./3
    assert "$" not in by_id["72"].answer  # the box is split across two math spans
    assert by_id["104"].answer == r"\frac{37}{4} m"
    assert by_id["0"].meta["course"].startswith("Introduction to Astronomy")


def test_olympiadbench_keeps_dataset_ids_rows_units_and_answer_lists(shared_data: Path) -> None:
    problems = load(shared_data, "olympiadbench")
    assert len(problems) == 675 and len({p.id for p in problems}) == 675
    assert problems[0].id == "1606" and problems[0].meta["row"] == 0 and problems[0].answer == "2"
    assert [p.meta["row"] for p in problems] == list(range(675))
    by_row = {p.meta["row"]: p for p in problems}
    assert by_row[13].answer == "69,84" and by_row[13].meta["is_multiple_answer"] is True
    assert by_row[1].answer == r"\frac{1}{2 n+2}" and by_row[1].meta["answer_type"] == "Expression"
    assert by_row[76].answer == r"(-\infty, 0) \cup\{1\}"  # the gold's full stop is dropped
    assert by_row[96].id == "2045" and by_row[96].answer == "(0,4]"  # erratum: the file says "t(0,4]"
    assert by_row[137].answer == "45" and by_row[137].meta["unit"] == "minute"
    assert sum("unit" in p.meta for p in problems) == 8
    assert all("$" not in p.answer for p in problems)


@pytest.mark.parametrize(
    ("task", "row", "expected"),
    [
        # math-ai/amc23 rows: the Qwen2.5-Math fields.
        ("amc23", {"id": 0, "problem": "P", "answer": 27.0,
                   "url": "https://artofproblemsolving.com/wiki/index.php/2023_AMC_12B_Problems/Problem_17"},
         ("2023-12B-17", "27")),
        # math-ai/minervamath rows carry the extracted answer under `question`/`answer`, without idx.
        ("minerva_math", {"question": "P", "answer": "4.5e33"}, ("7", "4.5e33")),
        ("minerva_math", {"problem": "P", "solution": r"so $\boxed{6e13}$ m", "idx": 43}, ("43", "6e13")),
        # Hothan/OlympiadBench-style rows: several answers as list items, a context before the question.
        ("olympiadbench", {"id": 2099, "question": "P", "context": "C",
                           "final_answer": ["$90^{\\circ}$", "$60$"]}, ("2099", "90^{\\circ}, 60")),
    ],
)  # fmt: skip
def test_hub_style_rows(task: str, row: dict, expected: tuple[str, str]) -> None:
    problem = discover().get(task).to_problem(row, 7)
    assert (problem.id, problem.answer) == expected


def test_olympiadbench_prompt_puts_the_context_first() -> None:
    problem = discover().get("olympiadbench").to_problem({"id": 1, "question": "Q?", "context": "Let x=1.",
                                                          "final_answer": ["$2$"]}, 0)  # fmt: skip
    assert problem.prompt == "Let x=1.\nQ?"


def test_rows_without_an_answer_are_refused() -> None:
    with pytest.raises(ValueError, match="no \\\\boxed"):
        discover().get("minerva_math").to_problem({"problem": "P", "solution": "no box"}, 0)
    with pytest.raises(ValueError, match="holds no answer"):
        discover().get("olympiadbench").to_problem({"id": 1, "question": "Q", "final_answer": ["$ $"]}, 0)


def test_tasks_use_the_reasoning_prompt_and_their_graders() -> None:
    registry = discover()
    graders = {name: registry.get(name).grader.name for name in ("amc23", "minerva_math", "olympiadbench")}
    assert graders == {
        "amc23": "math-verify",
        "minerva_math": "minerva-answer",
        "olympiadbench": "olympiad-answer",
    }
    for name in graders:
        spec = registry.get(name)
        assert spec.prompt_template.endswith("put your final answer within \\boxed{}.")
        assert spec.defaults["max_new_tokens"] == 32768 and spec.source.hub_id.startswith("math-ai/")
