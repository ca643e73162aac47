"""The shared records: what counts as correct, field mappings, and where a relative bundled file is read."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from harness.types import (
    ChatMessage,
    Completion,
    DatasetSource,
    FieldSpec,
    Problem,
    Request,
    SampleKey,
    Sampling,
    Score,
    Verdict,
)

HERE = Path(__file__).resolve().parent


def test_only_correct_and_passed_count_as_correct() -> None:
    correct = {v for v in Verdict if Score("p", 0, v, None).correct}
    assert correct == {Verdict.CORRECT, Verdict.PASSED}
    assert Verdict("prompt_too_long") is Verdict.PROMPT_TOO_LONG  # score files store the value


def test_records_are_frozen_and_keys_order_by_task_problem_sample() -> None:
    request = Request("t", "p2", 1, (ChatMessage("user", "q"),), Sampling(temperature=0.6), seed=7)
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.seed = 8  # type: ignore[misc]
    completion = Completion("t", "p2", 1, "text", 3, "stop")
    assert request.key == completion.key == SampleKey("t", "p2", 1)
    assert sorted([SampleKey("t", "p2", 0), SampleKey("t", "p10", 1), SampleKey("a", "z", 5)]) == [
        SampleKey("a", "z", 5),
        SampleKey("t", "p10", 1),
        SampleKey("t", "p2", 0),
    ]
    assert Sampling(temperature=0.0).greedy and not request.sampling.greedy


def test_field_spec_picks_fields_and_converts_numbers_to_text() -> None:
    spec = FieldSpec(id="uid", problem=("question", "problem"), metadata=("level", "source"))
    row = {"uid": 17, "problem": "  What is 6*7?\n", "answer": 42, "level": 3, "source": None}
    assert spec(row, 5) == Problem("17", "What is 6*7?", "42", meta={"level": 3})
    row_with_question = {**row, "question": "Q first", "problem": "not this one"}
    assert spec(row_with_question, 5).prompt == "Q first"
    assert FieldSpec(id=None, answer=None)({"problem": "p"}, 9) == Problem("9", "p", None)


@pytest.mark.parametrize(
    ("row", "error", "message"),
    [
        ({"problem": "p", "answer": "1"}, KeyError, "id"),
        ({"id": "a", "question": "p", "answer": "1"}, KeyError, "problem"),
        ({"id": "a", "problem": "p", "answer": None}, KeyError, "answer"),
        ({"id": "a", "problem": "  ", "answer": "1"}, ValueError, "field 'problem' is empty"),
        ({"id": "a", "problem": "p", "answer": ["1", "2"]}, ValueError, "field .answer. is list, expected"),
        ({"id": True, "problem": "p", "answer": "1"}, ValueError, "field 'id' is bool"),
        ({"id": {"x": 1}, "problem": "p", "answer": "1"}, ValueError, "field 'id' is dict"),
    ],
)
def test_field_spec_refuses_rows_it_cannot_read(row: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        FieldSpec()(row, 0)


def test_field_spec_reports_every_alternative_it_looked_for() -> None:
    with pytest.raises(KeyError) as caught:
        FieldSpec(problem=("question", "problem", "Question"))({"id": "a", "answer": "1"}, 0)
    assert caught.value.args == ("question or problem or Question",)


def test_a_relative_bundled_file_is_relative_to_the_declaring_module() -> None:
    source = DatasetSource(hub_id=None, bundled_file="data/rows.jsonl")
    assert source.declared_in == str(HERE)
    assert source.bundled_path == HERE / "data" / "rows.jsonl"
    # replace() keeps the declaring folder; it does not take the folder of whoever calls it.
    assert dataclasses.replace(source, split="train").bundled_path == HERE / "data" / "rows.jsonl"
    assert DatasetSource(hub_id=None, bundled_file="/abs/rows.jsonl").bundled_path == Path("/abs/rows.jsonl")
    assert DatasetSource(hub_id="org/set").bundled_path is None


def test_code_without_a_file_keeps_a_relative_bundled_file_relative() -> None:
    namespace: dict = {"DatasetSource": DatasetSource, "__name__": "typed_at_a_prompt"}
    exec("source = DatasetSource(hub_id=None, bundled_file='rows.jsonl')", namespace)
    source = namespace["source"]
    assert source.declared_in is None and source.bundled_path == Path("rows.jsonl")
