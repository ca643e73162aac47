"""The whole pipeline on real tasks, with the replay backend standing in for a model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.config import load_config
from harness.data import load_problems
from harness.pipeline import RunError, run
from harness.registry import discover
from harness.results import read_samples, read_score_file


def write_replay(path: Path, answers: dict[tuple[str, int], str], task: str = "sample-math") -> Path:
    with path.open("w") as handle:
        for (problem_id, index), text in answers.items():
            handle.write(
                json.dumps(
                    {
                        "task": task,
                        "problem_id": problem_id,
                        "sample_index": index,
                        "text": text,
                        "output_tokens": 10,
                        "finish_reason": "stop",
                    }
                )
                + "\n"
            )
    return path


def sample_answers(n: int) -> dict[tuple[str, int], str]:
    """Sample 0 is right on every problem; sample 1 only on the first half."""
    problems = load_problems(discover().get("sample-math")).problems
    answers = {}
    for position, problem in enumerate(problems):
        for index in range(n):
            right = index == 0 or position < len(problems) // 2
            answers[(problem.id, index)] = f"so \\boxed{{{problem.answer if right else 'x'}}}"
    return answers


def make_config(tmp_path: Path, replay: Path, n: int = 2, extra: str = "") -> Path:
    config = tmp_path / "config.yaml"
    config.write_text(
        f"model: {{name: replayed, backend: replay, path: {replay}}}\n"
        f"generation: {{n: {n}, temperature: 0.6}}\ntasks: [sample-math]\noutput: {tmp_path / 'out'}\n{extra}"
    )
    return config


def test_replayed_run_writes_a_valid_score_file_with_metrics(tmp_path: Path) -> None:
    replay = write_replay(tmp_path / "replay.jsonl", sample_answers(2))
    [outcome] = run(load_config(make_config(tmp_path, replay)), progress=False)
    assert outcome.score_file is not None
    record = read_score_file(outcome.score_file)
    assert record.metrics["accuracy"] == pytest.approx(0.75)  # 24 + 12 of 48 samples
    assert record.metrics["pass@2"] == pytest.approx(1.0)
    assert record.counts["correct"] == 36 and record.counts["wrong"] == 12
    lo, hi = record.metrics["accuracy_ci95"]
    assert lo < 0.75 < hi
    assert record.protocol["sampling"]["n"] == 2 and record.protocol["data"]["problem_count"] == 24
    assert record.cost["generated_tokens"] == 480
    rows = read_samples(outcome.score_file, record)
    assert len(rows) == 48 and rows[0].extracted is not None


def test_protocol_hash_tracks_settings_but_not_the_model(tmp_path: Path) -> None:
    replay = write_replay(tmp_path / "replay.jsonl", sample_answers(2))
    config = make_config(tmp_path, replay)
    [first] = run(load_config(config), progress=False)
    [renamed] = run(load_config(config, overrides=["model.name=other"]), progress=False)
    fewer_samples = ["generation.n=1", "model.options.allow_extra=true"]  # uses sample 0 of each problem
    [fewer] = run(load_config(config, overrides=fewer_samples), progress=False)
    hashes = [read_score_file(o.score_file).protocol["hash"] for o in (first, renamed, fewer)]  # type: ignore[arg-type]
    assert hashes[0] == hashes[1] != hashes[2]


def test_a_missing_completion_fails_and_writes_no_score_file(tmp_path: Path) -> None:
    answers = sample_answers(1)
    answers.pop(next(iter(answers)))
    replay = write_replay(tmp_path / "replay.jsonl", answers)
    with pytest.raises(RunError):
        run(load_config(make_config(tmp_path, replay, n=1)), progress=False)
    assert not list((tmp_path / "out").glob("*.json"))


def test_finished_journal_is_rescored_without_the_backend(tmp_path: Path) -> None:
    replay = write_replay(tmp_path / "replay.jsonl", sample_answers(1))
    config = make_config(tmp_path, replay, n=1)
    [first] = run(load_config(config), progress=False)
    replay.unlink()  # the replay "model" is gone; everything must come from the journal
    [second] = run(load_config(config), progress=False)
    a, b = read_score_file(first.score_file), read_score_file(second.score_file)  # type: ignore[arg-type]
    assert a.metrics == b.metrics and a.protocol == b.protocol and a.model == b.model


def test_wall_time_of_a_rescored_run_still_counts_its_generation(tmp_path: Path) -> None:
    replay = write_replay(tmp_path / "replay.jsonl", sample_answers(1))
    config = make_config(tmp_path, replay, n=1)
    [first] = run(load_config(config), progress=False)
    [wall_file] = (tmp_path / "out" / ".journal").glob("*.wall.json")
    generated = json.loads(wall_file.read_text())["generation_wall_seconds"]
    assert 0 < generated <= read_score_file(first.score_file).cost["wall_seconds"]  # type: ignore[arg-type]
    # Say the generation had taken an hour: a later session that only rescores must report it.
    wall_file.write_text(json.dumps({"generation_wall_seconds": 3600.0}))
    [second] = run(load_config(config), progress=False)
    wall = read_score_file(second.score_file).cost["wall_seconds"]  # type: ignore[arg-type]
    assert 3600 <= wall < 3600 + 60
    assert json.loads(wall_file.read_text()) == {"generation_wall_seconds": 3600.0}  # nothing generated
    wall_file.write_text("{torn")
    with pytest.raises(Exception, match=r"\.wall\.json: unreadable .*delete it"):
        run(load_config(config), progress=False)


def test_unknown_task_option_is_a_config_error(tmp_path: Path) -> None:
    from harness.config import ConfigError

    replay = write_replay(tmp_path / "replay.jsonl", sample_answers(1))
    config = tmp_path / "c.yaml"
    config.write_text(
        f"model: {{name: r, backend: replay, path: {replay}}}\ntasks: [{{name: sample-math, release: v9}}]\n"
    )
    with pytest.raises(ConfigError, match=r"tasks\[0\].release: unknown key for task sample-math"):
        run(load_config(config), progress=False)


def test_greedy_decoding_with_several_samples_is_refused_before_anything_runs(tmp_path: Path) -> None:
    from harness.config import ConfigError

    replay = write_replay(tmp_path / "replay.jsonl", sample_answers(2))
    config = make_config(tmp_path, replay, n=2)
    greedy = r"tasks\[0\]: temperature 0 \(greedy decoding\) with n=2 would give 2 identical"
    with pytest.raises(ConfigError, match=greedy):
        run(load_config(config, overrides=["generation.temperature=0"]), progress=False)
    assert not (tmp_path / "out").exists()
    # The same holds when n comes from the task entry rather than the generation block.
    with pytest.raises(ConfigError, match=r"tasks\[0\]: temperature 0"):
        run(load_config(config, overrides=["generation.temperature=0", "generation.n=1", "tasks.0.n=3"]),
            progress=False)  # fmt: skip


def test_a_run_whose_journal_is_locked_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    from harness.planning import plan_tasks
    from harness.run_store import JournalLock, JournalLockedError

    replay = write_replay(tmp_path / "replay.jsonl", sample_answers(1))
    config = load_config(make_config(tmp_path, replay, n=1))
    [plan] = plan_tasks(config, discover())
    journal = tmp_path / "out" / ".journal" / f"{plan.run_id}.jsonl"
    with JournalLock(journal):  # another run of the same config, in this process for the test
        with pytest.raises(JournalLockedError, match="is in use by another run"):
            run(config, progress=False)
        assert not journal.exists() and not list((tmp_path / "out").glob("*.json"))
    [outcome] = run(config, progress=False)  # once released, the run goes ahead
    assert outcome.score_file is not None and outcome.score_file.is_file()
