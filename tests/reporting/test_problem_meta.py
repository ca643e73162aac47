"""The task's problem metadata found again for a score file, only for the very problems it was run on."""

from __future__ import annotations

import json
from pathlib import Path

from harness.reporting.problem_meta import load_problem_meta
from harness.results import read_score_file

SHIPPED = Path(__file__).resolve().parents[2] / "results"
AIME_SCORE = SHIPPED / "smollm2-135m-instruct__aime24__fc2542b0fd8c.json"


def test_aime_metadata_comes_from_the_task(shared_data: Path) -> None:
    meta = load_problem_meta(read_score_file(AIME_SCORE), shared_data / "aime24.jsonl")
    assert meta.reason is None and len(meta.by_problem) == 30
    assert meta.by_problem["2024-II-12"] == {
        "year": 2024,
        "contest": "2024 II",
        "difficulty": "problems 11-15",
    }


def test_other_problems_give_no_metadata_and_say_why(tmp_path: Path, shared_data: Path) -> None:
    # The same file with one answer changed: the content hash no longer matches the score file's.
    rows = [json.loads(line) for line in (shared_data / "aime24.jsonl").read_text().splitlines()]
    rows[0]["answer"] = "999"
    edited = tmp_path / "aime24.jsonl"
    edited.write_text("".join(json.dumps(row) + "\n" for row in rows))
    meta = load_problem_meta(read_score_file(AIME_SCORE), edited)
    assert meta.by_problem == {}
    assert meta.reason == "the problems loaded for aime24 are not the ones this score file was produced on"


def test_an_unknown_task_gives_a_reason(tmp_path: Path) -> None:
    from tests.reporting.score_files import write_result

    record = read_score_file(write_result(tmp_path, "m", [[True], [False]]))
    meta = load_problem_meta(record)
    assert meta.by_problem == {} and "is not installed here" in str(meta.reason)
