from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from harness.atomic import write_bytes_atomic, write_text_atomic
from harness.results import (
    NotAScoreFileError,
    SampleRow,
    ScoreFile,
    ScoreFileError,
    provenance_now,
    read_samples,
    read_score_file,
    score_file_name,
    write_score_file,
)
from harness.scoring.metrics import compute_metrics, metrics_to_dict
from harness.types import Score, Verdict

REPO = Path(__file__).resolve().parents[1]


def make_rows() -> list[SampleRow]:
    outcomes: dict[str, list[str | None]] = {"p1": ["12", "12"], "p2": ["7", None]}
    gold = {"p1": "12", "p2": "8"}
    rows = []
    for pid, answers in outcomes.items():
        for i, answer in enumerate(answers):
            verdict = (
                Verdict.NO_ANSWER
                if answer is None
                else (Verdict.CORRECT if answer == gold[pid] else Verdict.WRONG)
            )
            rows.append(
                SampleRow(
                    problem_id=pid,
                    sample_index=i,
                    completion=f"so the answer is {answer} ✓",
                    reasoning=None if i else "thinking…",
                    extracted=answer,
                    verdict=verdict.value,
                    correct=verdict is Verdict.CORRECT,
                    output_tokens=20 + i,
                    finish_reason="stop",
                    detail=None,
                    seconds=0.25,
                )
            )
    return rows


def make_record(rows: list[SampleRow], **changes: object) -> ScoreFile:
    scores = [Score(r.problem_id, r.sample_index, Verdict(r.verdict), r.extracted) for r in rows]
    metrics = compute_metrics(scores, ["p1", "p2"], n=2, bootstrap_resamples=200)
    record = ScoreFile(
        run_id="r-20250101-abc",
        created_at="2025-01-01T12:00:00Z",
        task={"name": "toy", "version": "1"},
        model={
            "name": "tiny/model",
            "backend": "hf",
            "path": "/models/tiny",
            "revision": "abc123",
            "dtype": "float32",
            "device": "cpu",
            "engine": "transformers 5.0",
            "batch_size": 4,
            "chat_template_hash": None,
            "extra": {"quantization": None},
        },
        protocol={
            "hash": "0123456789abcdef",
            "task": {"name": "toy", "version": "1"},
            "data": {"content_hash": "ff", "problem_count": 2, "options": {}},
            "prompt": {"template": "{problem}", "system_prompt": None},
            "sampling": {"temperature": 0.6, "n": 2, "stop": []},
            "grader": {"name": "exact", "version": "1", "settings": {}},
        },
        metrics=metrics_to_dict(metrics),
        counts=dict(metrics.verdict_counts),
        provenance=provenance_now("harness run toy.yaml"),
        cost={
            "wall_seconds": 1.5,
            "generated_tokens": 86,
            "tokens_per_second": 86.0,
            "generation_seconds": 1.0,
        },
        samples_file="tiny-model__toy__r-20250101-abc.samples.jsonl",
    )
    return replace(record, **changes)  # type: ignore[arg-type]


def test_roundtrip_score_file_and_samples(tmp_path: Path) -> None:
    rows = make_rows()
    record = make_record(rows)
    path = tmp_path / "out" / score_file_name("tiny/model", "toy", record.run_id)
    written = write_score_file(path, record, rows)
    assert path.name == "tiny-model__toy__r-20250101-abc.json"
    loaded = read_score_file(path)
    samples_bytes = (path.parent / record.samples_file).read_bytes()
    assert loaded == written == replace(record, samples_sha256=hashlib.sha256(samples_bytes).hexdigest())
    assert loaded.schema_version == 2
    assert read_samples(path, loaded) == rows
    assert loaded.metrics["pass@2"] == pytest.approx(0.5)
    assert loaded.counts == {"correct": 2, "no_answer": 1, "wrong": 1}
    assert "✓" in (path.parent / record.samples_file).read_text(encoding="utf-8")


def test_write_refuses_invalid_record_and_names_the_field(tmp_path: Path) -> None:
    rows = make_rows()
    bad = make_record(rows, metrics={**make_record(rows).metrics, "accuracy": 1.5})
    path = tmp_path / "bad.json"
    with pytest.raises(ScoreFileError, match=r"bad\.json.*\$\.metrics\.accuracy.*1\.5"):
        write_score_file(path, bad, rows)
    assert list(tmp_path.iterdir()) == []  # neither the score file nor the samples file was written


def test_write_refuses_values_json_cannot_hold(tmp_path: Path) -> None:
    rows = make_rows()
    bad = make_record(rows, cost={**make_record(rows).cost, "tokens_per_second": float("nan")})
    with pytest.raises(ScoreFileError, match=r"cost\.tokens_per_second is nan"):
        write_score_file(tmp_path / "x.json", bad, rows)


def test_write_refuses_samples_that_do_not_match_the_metrics(tmp_path: Path) -> None:
    rows = make_rows()
    with pytest.raises(ScoreFileError, match="metrics count 4 samples but 3"):
        write_score_file(tmp_path / "x.json", make_record(rows), rows[:3])
    with pytest.raises(ScoreFileError, match=r"\('p1', 0\) appears twice"):
        write_score_file(tmp_path / "x.json", make_record(rows), [rows[0], *rows[:3]])


def test_samples_file_may_not_leave_the_results_folder(tmp_path: Path) -> None:
    rows = make_rows()
    with pytest.raises(ScoreFileError, match=r"\$\.samples_file"):
        write_score_file(tmp_path / "x.json", make_record(rows, samples_file="../elsewhere.jsonl"), rows)


def test_read_rejects_schema_violation_naming_file_and_path(tmp_path: Path) -> None:
    rows = make_rows()
    path = tmp_path / "s.json"
    write_score_file(path, make_record(rows), rows)
    document = json.loads(path.read_text())
    del document["protocol"]["sampling"]
    path.write_text(json.dumps(document))
    with pytest.raises(
        ScoreFileError,
        match=r"s\.json is not a valid score file: at \$\.protocol: "
        r"'sampling' is a required property",
    ):
        read_score_file(path)


def test_read_distinguishes_foreign_json_truncated_files_and_other_versions(tmp_path: Path) -> None:
    foreign = tmp_path / "package.json"
    foreign.write_text('{"name": "not-a-score-file"}')
    with pytest.raises(NotAScoreFileError, match="not a score file"):
        read_score_file(foreign)
    cut = tmp_path / "cut.json"
    cut.write_text('{"schema_version": 1, "run_id": "x"')
    with pytest.raises(ScoreFileError, match=r"cut\.json is not valid JSON \(line 1") as info:
        read_score_file(cut)
    assert not isinstance(info.value, NotAScoreFileError)
    future = tmp_path / "future.json"
    future.write_text('{"schema_version": 3, "protocol": {}}')
    with pytest.raises(ScoreFileError, match="schema_version 3; this harness reads versions 1, 2"):
        read_score_file(future)


def test_read_samples_names_a_broken_line(tmp_path: Path) -> None:
    rows = make_rows()
    path = tmp_path / "s.json"
    record = make_record(rows)
    write_score_file(path, record, rows)
    samples = tmp_path / record.samples_file
    lines = samples.read_text().splitlines()
    lines[2] = '{"problem_id": "p2"}'
    samples.write_text("\n".join(lines) + "\n")
    with pytest.raises(ScoreFileError, match=r"samples\.jsonl, line 3: not a sample row"):
        read_samples(path, record)


def test_failed_write_leaves_previous_score_file_intact(tmp_path: Path) -> None:
    rows = make_rows()
    path = tmp_path / "s.json"
    write_score_file(path, make_record(rows), rows)
    before = path.read_bytes()
    with pytest.raises(ScoreFileError):
        write_score_file(path, make_record(rows, created_at="yesterday"), rows)
    assert path.read_bytes() == before


def test_atomic_write_failing_at_the_rename_leaves_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "board.md"
    target.mkdir()  # os.replace cannot put a file over a folder
    (target / "keep").write_text("inside")
    with pytest.raises(OSError):
        write_text_atomic(target, "new")
    assert (target / "keep").read_text() == "inside"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["board.md"]


def test_atomic_write_keeps_mode_and_reports_missing_folder(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_text("old")
    target.chmod(0o640)
    write_text_atomic(target, "new")
    assert target.read_text() == "new"
    assert target.stat().st_mode & 0o777 == 0o640
    with pytest.raises(FileNotFoundError, match=r"folder .*nowhere does not exist"):
        write_bytes_atomic(tmp_path / "nowhere" / "a.txt", b"x")


def test_killed_writer_leaves_either_old_or_new_file(tmp_path: Path) -> None:
    """A real process is SIGKILLed while rewriting a large file over and over."""
    target = tmp_path / "big.txt"
    write_text_atomic(target, "A" * 1000)
    script = (
        "import sys\nfrom harness.atomic import write_text_atomic\n"
        "print('ready', flush=True)\n"
        "i = 0\n"
        "while True:\n"
        "    write_text_atomic(sys.argv[1], 'BC'[i % 2] * 8_000_000)\n"
        "    i += 1\n"
    )
    for delay in (0.05, 0.2, 0.45):
        child = subprocess.Popen(
            [sys.executable, "-c", script, str(target)], cwd=REPO, stdout=subprocess.PIPE, text=True
        )
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        time.sleep(delay)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        data = target.read_bytes()
        assert data in (b"A" * 1000, b"B" * 8_000_000, b"C" * 8_000_000), (delay, len(data))


def test_score_file_name_is_filesystem_safe_and_distinct_for_long_names() -> None:
    name = score_file_name("org/Model v2:Q4", "aime24", "run 1/2")
    assert name == "org-Model-v2-Q4__aime24__run-1-2.json"
    long_a = score_file_name("m" * 100 + "a", "t", "r")
    long_b = score_file_name("m" * 100 + "b", "t", "r")
    assert long_a != long_b and len(long_a) < 80
    assert re.fullmatch(r"[A-Za-z0-9._-]+", long_a)
    with pytest.raises(ValueError, match="model name '///'"):
        score_file_name("///", "t", "r")


def test_provenance_records_versions_without_importing_libraries() -> None:
    code = (
        "import json, sys\nfrom harness.results import provenance_now\n"
        "p = provenance_now('harness run x.yaml')\n"
        "print(json.dumps([p, 'torch' in sys.modules, 'transformers' in sys.modules]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    provenance, torch_imported, transformers_imported = json.loads(done.stdout)
    assert (torch_imported, transformers_imported) == (False, False)
    assert provenance["command"] == "harness run x.yaml"
    assert provenance["python"] == sys.version.split()[0]
    assert "numpy" in provenance["libraries"] and "jsonschema" in provenance["libraries"]
    if (REPO / ".git").exists():
        assert re.fullmatch(r"[0-9a-f]{40}", provenance["git_commit"])
