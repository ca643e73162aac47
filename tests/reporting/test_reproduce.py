"""Reproducing a reported figure: the generated config, and a real run through the replay backend."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import yaml

from harness.cli import main
from harness.reporting.reference_rows import load_reference_rows
from harness.reporting.reproduce import metric_key, protocol_departures
from harness.results import read_score_file

SHIPPED = Path(__file__).resolve().parents[2] / "results" / "reference_rows.yaml"
R1_TEMPLATE = "{problem}\nPlease reason step by step, and put your final answer within \\boxed{}."


def test_metric_names_map_to_score_file_keys() -> None:
    assert [metric_key(m) for m in ("pass@1", "cons@64", "maj@8", "pass@4")] == [
        "accuracy",
        "maj@64",
        "maj@8",
        "pass@4",
    ]


def write_replay(path: Path, shared_data: Path) -> Path:
    """64 samples per AIME 2024 problem: 5 problems always right, 7 right in samples 0-31, 18 never.

    pass@1 = (5 x 64 + 7 x 32) / 1920 = 28.3%; the majority of 64 is right on 12 problems (40%).
    """
    problems = [json.loads(line) for line in (shared_data / "aime24.jsonl").read_text().splitlines()]
    lines = []
    for i, problem in enumerate(problems):
        right = 64 if i < 5 else 32 if i < 12 else 0
        wrong = (int(problem["answer"]) + 1) % 1000
        for sample in range(64):
            answer = problem["answer"] if sample < right else wrong
            text = f"Adding it up, the answer is \\boxed{{{answer}}}."
            lines.append(
                {"task": "aime24", "problem_id": problem["id"], "sample_index": sample, "text": text}
            )
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def test_a_replayed_run_is_set_beside_the_reported_figures(
    tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    replay = write_replay(tmp_path / "r1-distill-1.5b.jsonl", shared_data)
    output = tmp_path / "results"
    code = main(
        [
            "reproduce",
            "r1-distill-qwen-1.5b-aime24-pass1",
            "--model",
            str(replay),
            "--backend",
            "replay",
            "--reference",
            str(SHIPPED),
            "--output",
            str(output),
            "--no-progress",
            "--set",
            f"tasks.0.data={shared_data / 'aime24.jsonl'}",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert (
        "reported     28.9%  (DeepSeek-R1: Incentivizing Reasoning Capability in LLMs via Reinforcement"
        in out
    )
    assert "measured     28.3%  95% CI [" in out and "on these problems (sampling only)" in out
    assert "accuracy, 30 problems × 64 samples" in out
    assert "difference   -0.6 points (measured − reported)" in out
    assert "consistent   yes: |difference| ≤ 1.5 points" in out and "WARNING" not in out
    [score_file] = output.glob("*__aime24__*.json")
    record = read_score_file(score_file)
    assert record.protocol["sampling"]["n"] == 64 and record.protocol["sampling"]["temperature"] == 0.6

    # cons@64 of the same run: 40% by majority vote, judged against the interval over problems.
    assert (
        main(
            [
                "reproduce",
                "r1-distill-qwen-1.5b-aime24-cons64",
                "--score-file",
                str(score_file),
                "--reference",
                str(SHIPPED),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "measured     40.0%  95% CI [" in out and "bootstrap over problems" in out
    assert "difference   -12.7 points" in out and "maj@64, 30 problems × 64 samples" in out

    # A figure 10 points above what the samples show is not within sampling noise.
    rows = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    [row] = [r for r in rows["references"] if r["id"] == "r1-distill-qwen-1.5b-aime24-pass1"]
    higher = tmp_path / "higher.yaml"
    higher.write_text(yaml.safe_dump({"references": [{**row, "value": 38.3}]}), encoding="utf-8")
    assert main(["reproduce", row["id"], "--score-file", str(score_file), "--reference", str(higher)]) == 0
    assert "consistent   NO: |difference| ≤ 1.5 points" in capsys.readouterr().out

    # A run that departs from the stated protocol says where.
    reference = next(r for r in load_reference_rows(SHIPPED) if r.id == row["id"])
    changed = {**record.protocol, "sampling": {**record.protocol["sampling"], "n": 4, "temperature": 1.0}}
    assert protocol_departures(reference, dataclasses.replace(record, protocol=changed)) == [
        "temperature 1.0 (reported under 0.6)",
        "n 4 (reported under 64)",
    ]
