from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from harness.data import DataError, load_problems
from harness.registry import discover
from harness.types import Problem, TaskSpec


def test_bundled_sample_task_loads_with_ids() -> None:
    loaded = load_problems(discover().get("sample-math"))
    assert len(loaded.problems) == 24
    assert loaded.problems[0].id == "add-1" and loaded.problems[0].answer == "5"
    assert loaded.source["kind"] == "bundled"


def test_content_hash_changes_with_content_and_limit(tmp_path: Path) -> None:
    spec = discover().get("sample-math")
    full = load_problems(spec)
    assert load_problems(spec).content_hash == full.content_hash
    assert load_problems(spec, limit=3).content_hash != full.content_hash
    rows = [{"id": "a", "problem": "1+1?", "answer": "2"}]
    data = tmp_path / "one.jsonl"
    data.write_text(json.dumps(rows[0]) + "\n")
    first = load_problems(spec, data).content_hash
    data.write_text(json.dumps({**rows[0], "answer": "3"}) + "\n")
    assert load_problems(spec, data).content_hash != first


def test_local_file_errors_say_where(tmp_path: Path) -> None:
    spec = discover().get("aime24")
    with pytest.raises(DataError, match="does not exist"):
        load_problems(spec, tmp_path / "absent.jsonl")
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"problem": "x", "answer": "1"}\n{not json\n')
    with pytest.raises(DataError, match=r"broken.jsonl:2: not valid JSON"):
        load_problems(spec, broken)
    missing = tmp_path / "missing.jsonl"
    missing.write_text('{"problem": "x"}\n')
    with pytest.raises(DataError, match=r"row 1: missing field .*answer.*fields present: problem"):
        load_problems(spec, missing)
    duplicate = tmp_path / "dup.jsonl"
    duplicate.write_text('{"id": "a", "problem": "x", "answer": "1"}\n' * 2)
    with pytest.raises(DataError, match="problem id 'a' appears in rows 1 and 2"):
        load_problems(spec, duplicate)


def test_parquet_files_load(tmp_path: Path) -> None:
    import datasets

    path = tmp_path / "p.parquet"
    datasets.Dataset.from_list(
        [{"unique_id": "test/x/1.json", "problem": "Q", "answer": "\\frac12"}]
    ).to_parquet(str(path))
    loaded = load_problems(discover().get("math500"), path)
    assert loaded.problems[0].id == "test/x/1.json" and loaded.problems[0].answer == "\\frac12"


def test_hub_loading_failure_says_how_to_go_offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path))
    with pytest.raises(DataError, match=r"could not load HuggingFaceH4/aime_2024.*set `data:`"):
        load_problems(discover().get("aime24"))


def test_non_utf8_bytes_name_the_line_and_the_byte(tmp_path: Path) -> None:
    data = tmp_path / "latin1.jsonl"
    data.write_bytes(b'{"problem": "ok", "answer": "1"}\n{"problem": "caf\xe9", "answer": "2"}\n')
    with pytest.raises(DataError, match=r"latin1\.jsonl:2: not UTF-8 \(byte 0xe9 at column 17\)"):
        load_problems(discover().get("aime24"), data)


def test_a_json_array_of_non_objects_names_the_row(tmp_path: Path) -> None:
    data = tmp_path / "array.json"
    data.write_text('[{"problem": "x", "answer": "1"}, 7]')
    with pytest.raises(
        DataError, match=r"array\.json: row 2 of the JSON array is int, expected a JSON object"
    ):
        load_problems(discover().get("aime24"), data)


def _plugin_with(to_problem: Any) -> TaskSpec:
    return dataclasses.replace(discover().get("sample-math"), name="broken-plugin", to_problem=to_problem)


def _explode(row: Any, index: int) -> Problem:
    if index == 2:
        raise AttributeError("'NoneType' object has no attribute 'strip'")
    return Problem(id=str(index), prompt="p", answer="1")


def test_a_plugin_whose_to_problem_raises_or_returns_junk_gets_a_message(tmp_path: Path) -> None:
    with pytest.raises(DataError) as caught:
        load_problems(_plugin_with(_explode))
    assert str(caught.value) == (
        "task broken-plugin: sample_math.jsonl row 3: the task's to_problem failed: AttributeError: "
        "'NoneType' object has no attribute 'strip'"
    )
    with pytest.raises(DataError, match=r"row 1: the task's to_problem returned dict, expected a harness"):
        load_problems(_plugin_with(lambda row, index: dict(row)))
    with pytest.raises(
        DataError, match=r"row 1: the task's to_problem returned a Problem with a non-text id"
    ):
        load_problems(_plugin_with(lambda row, index: Problem(id=index, prompt="p")))  # type: ignore[arg-type]


def test_a_field_mapping_names_the_file_row_and_field_it_cannot_read(tmp_path: Path) -> None:
    spec = discover().get("math500")  # a FieldSpec task: id from unique_id, subject and level kept
    data = tmp_path / "math500.jsonl"
    good = {"unique_id": "test/a/1.json", "problem": "1+1?", "answer": "2", "subject": "Algebra", "level": 1}
    data.write_text(json.dumps(good) + "\n" + json.dumps({**good, "unique_id": "b", "answer": ["2"]}) + "\n")
    with pytest.raises(DataError) as caught:
        load_problems(spec, data)
    assert (
        str(caught.value)
        == "task math500: math500.jsonl row 2: field 'answer' is list, expected text or a number"
    )
    data.write_text(json.dumps({k: v for k, v in good.items() if k != "unique_id"}) + "\n")
    with pytest.raises(DataError, match=r"row 1: missing field 'unique_id'; fields present: answer, level"):
        load_problems(spec, data)
    data.write_text(json.dumps(good) + "\n")
    [problem] = load_problems(spec, data).problems
    assert problem == Problem("test/a/1.json", "1+1?", "2", meta={"subject": "Algebra", "level": 1})


def test_a_relative_bundled_file_is_read_beside_its_task_file_from_any_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "plugins"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "rows.jsonl").write_text('{"id": "q1", "problem": "2+2?", "answer": 4}\n')
    (folder / "arith.py").write_text(
        "from harness.scoring.math import GSM8K_GRADER\n"
        "from harness.types import DatasetSource, FieldSpec, TaskSpec\n"
        "TASK = TaskSpec(name='arith', version='1', description='d',\n"
        "    source=DatasetSource(hub_id=None, bundled_file='data/rows.jsonl'), to_problem=FieldSpec(),\n"
        "    prompt_template='{problem}', grader=GSM8K_GRADER)\n"
    )
    spec = discover([folder]).get("arith")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "data").mkdir()  # a same-named file under the working folder must not be read instead
    (elsewhere / "data" / "rows.jsonl").write_text('{"id": "wrong", "problem": "?", "answer": 0}\n')
    monkeypatch.chdir(elsewhere)
    [problem] = load_problems(spec).problems
    assert (problem.id, problem.answer) == ("q1", "4")
    (folder / "data" / "rows.jsonl").unlink()
    with pytest.raises(DataError, match=f"data file {folder / 'data' / 'rows.jsonl'} does not exist"):
        load_problems(spec)
