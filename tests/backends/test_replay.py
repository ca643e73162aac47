"""The replay backend on small JSONL files, and backend lookup by name."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from harness.backends.base import BackendError
from harness.backends.registry import BACKEND_NAMES, create_backend
from harness.backends.replay import ReplayBackend
from harness.types import ChatMessage, Completion, ModelSpec, Request, Sampling


def write_lines(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), "utf-8")
    return path


def request(problem_id: str, sample_index: int = 0, task: str = "aime24") -> Request:
    return Request(task, problem_id, sample_index, (ChatMessage("user", "q"),), Sampling(), seed=0)


def replay(path: Path) -> ReplayBackend:
    return ReplayBackend(ModelSpec(name="stored", backend="replay", path=str(path)))


ROWS = [
    {"task": "aime24", "problem_id": "2024-I-1", "sample_index": 0, "text": "\\boxed{204}",
     "output_tokens": 812, "finish_reason": "stop", "reasoning": "think"},
    {"task": "aime24", "problem_id": "2024-I-1", "sample_index": 1, "text": "cut off", "output_tokens": 4096,
     "finish_reason": "length"},
    {"task": "aime24", "problem_id": "2024-I-2", "sample_index": 0, "text": "25", "output_tokens": 9},
]  # fmt: skip


def test_replays_stored_completions_in_request_order(tmp_path: Path) -> None:
    backend = replay(write_lines(tmp_path / "c.jsonl", ROWS))
    out = list(backend.generate([request("2024-I-2"), request("2024-I-1", 1), request("2024-I-1", 0)]))
    assert out == [
        Completion("aime24", "2024-I-2", 0, "25", 9, "stop"),
        Completion("aime24", "2024-I-1", 1, "cut off", 4096, "length"),
        Completion("aime24", "2024-I-1", 0, "\\boxed{204}", 812, "stop", reasoning="think"),
    ]


def test_info_fingerprints_the_file(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "c.jsonl", ROWS)
    info = replay(path).info()
    assert info.backend == "replay"
    assert info.revision == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    assert info.extra == {"completions": 3}
    write_lines(path, ROWS[:2])
    assert replay(path).info().revision != info.revision


def test_missing_token_counts_default_to_zero_and_are_flagged(tmp_path: Path) -> None:
    rows = [{"task": "t", "problem_id": "a", "sample_index": 0, "text": "x", "extra_field": 1}]
    backend = replay(write_lines(tmp_path / "c.jsonl", rows))
    (completion,) = backend.generate([request("a", task="t")])
    assert (completion.output_tokens, completion.finish_reason) == (0, "stop")
    assert "unknown" in backend.info().extra["output_tokens"]


def test_missing_samples_are_named(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "c.jsonl", ROWS)
    wanted = [request("2024-I-1")] + [request(f"2024-II-{i}") for i in range(1, 8)]
    with pytest.raises(BackendError) as caught:
        list(replay(path).generate(wanted))
    message = str(caught.value)
    assert str(path) in message
    assert "7 requested sample(s)" in message
    assert "(aime24, 2024-II-1, 0)" in message and "(aime24, 2024-II-5, 0)" in message
    assert "2024-II-6" not in message and "and 2 more" in message


@pytest.mark.parametrize(
    ("line", "complaint"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"task": "t", "problem_id": "a", "sample_index": 0}', "missing field 'text'"),
        ('{"task": "t", "problem_id": 7, "sample_index": 0, "text": ""}', "field 'problem_id' must be str"),
        ('{"task": "t", "problem_id": "a", "sample_index": true, "text": ""}', "'sample_index' must be int"),
        ('{"task": "t", "problem_id": "a", "sample_index": 0, "text": "", "finish_reason": "eos"}',
         "finish_reason must be 'stop' or 'length'"),
        ('{"task": "t", "problem_id": "a", "sample_index": 0, "text": "", "output_tokens": -1}',
         "output_tokens must be a non-negative integer"),
        (json.dumps(ROWS[0]), "duplicate completion for (aime24, 2024-I-1, 0) (first at line 1)"),
    ],
)  # fmt: skip
def test_malformed_lines_name_file_and_line(tmp_path: Path, line: str, complaint: str) -> None:
    path = write_lines(tmp_path / "c.jsonl", [ROWS[0], "", line])
    with pytest.raises(BackendError) as caught:
        replay(path)
    assert f"{path}:3:" in str(caught.value)
    assert complaint in str(caught.value)


def test_missing_file_says_what_to_give(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="does not exist"):
        replay(tmp_path / "absent.jsonl")


def test_registry_builds_replay_and_refuses_unknown_names(tmp_path: Path) -> None:
    assert {"hf", "replay"} <= set(BACKEND_NAMES)
    path = write_lines(tmp_path / "c.jsonl", ROWS)
    backend = create_backend(ModelSpec(name="stored", backend="replay", path=str(path)))
    assert isinstance(backend, ReplayBackend)
    with pytest.raises(BackendError, match="unknown backend 'tgi'") as caught:
        create_backend(ModelSpec(name="m", backend="tgi", path="x"))
    assert "replay" in str(caught.value)


def test_non_utf8_bytes_are_an_error_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_bytes(json.dumps(ROWS[0]).encode() + b'\n{"task": "aime24", "text": "caf\xe9"}\n')
    with pytest.raises(BackendError, match=r"c\.jsonl:2: not UTF-8 \(byte 0xe9 at column 32\)"):
        replay(path)


def _run_replay(tmp_path: Path, path: Path, name: str, *overrides: str) -> Any:
    from harness.config import load_config
    from harness.pipeline import run
    from harness.results import read_score_file

    config = tmp_path / f"{name}.yaml"
    config.write_text(f"model: {{name: {name}, backend: replay, path: {path}}}\ntasks: [sample-math]\n")
    [outcome] = run(load_config(config, overrides, output=tmp_path / name), progress=False)
    return read_score_file(outcome.score_file)


def test_the_harness_own_samples_file_and_journal_replay_as_they_are(tmp_path: Path) -> None:
    from tests.test_pipeline import sample_answers, write_replay

    answers = {key: text for key, text in sample_answers(1).items() if not key[0].startswith("mul")}
    wrong = {key: "no idea" for key in sample_answers(1) if key[0].startswith("mul")}
    first = _run_replay(tmp_path, write_replay(tmp_path / "c.jsonl", {**answers, **wrong}), "first")
    samples = tmp_path / "first" / first.samples_file
    [journal] = (tmp_path / "first" / ".journal").glob("*.jsonl")
    for name, path in (("from-samples", samples), ("from-journal", journal)):
        again = _run_replay(tmp_path, path, name)
        assert (again.metrics, again.counts) == (first.metrics, first.counts), name
        assert again.cost["generated_tokens"] == first.cost["generated_tokens"]
    alone = tmp_path / "alone.samples.jsonl"  # no score file beside it to name the task
    alone.write_bytes(samples.read_bytes())
    with pytest.raises(
        BackendError, match=r"alone\.samples\.jsonl:1: no 'task' field, and no score file beside"
    ):
        replay(alone)


def test_completions_the_run_does_not_ask_for_are_an_error_unless_allowed(tmp_path: Path) -> None:
    from tests.test_pipeline import sample_answers, write_replay

    rows = sample_answers(1)
    path = write_replay(tmp_path / "c.jsonl", {**rows, ("not-a-problem", 0): "7"})
    with open(path, "a") as handle:  # and one for a task this run does not have
        handle.write(
            json.dumps({"task": "aime24", "problem_id": "2024-I-1", "sample_index": 0, "text": "1"}) + "\n"
        )
    with pytest.raises(BackendError) as caught:
        _run_replay(tmp_path, path, "strict")
    assert "has 2 completion(s) this run does not ask for" in str(caught.value)
    assert "(aime24, 2024-I-1, 0), (sample-math, not-a-problem, 0)" in str(caught.value)
    assert not list((tmp_path / "strict").glob("*.json"))
    lenient = _run_replay(tmp_path, path, "lenient", "model.options.allow_extra=true")
    assert lenient.model["extra"]["unused_completions"] == 2
    assert lenient.metrics["n_samples"] == len(rows)
    with pytest.raises(
        BackendError, match=r"model\.options\.allow_extras: not an option of the replay backend"
    ):
        _run_replay(tmp_path, path, "typo", "model.options.allow_extras=true")
