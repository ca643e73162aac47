from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.data import DataError, load_problems
from harness.registry import discover


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
    with pytest.raises(DataError, match=r"row 0: missing field .*answer.*fields present: problem"):
        load_problems(spec, missing)
    duplicate = tmp_path / "dup.jsonl"
    duplicate.write_text('{"id": "a", "problem": "x", "answer": "1"}\n' * 2)
    with pytest.raises(DataError, match="problem id 'a' appears in rows 0 and 1"):
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
