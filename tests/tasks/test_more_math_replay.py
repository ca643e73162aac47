"""PRIME's graded Minerva and OlympiadBench outputs through the shipped replay configs and the whole pipeline.

A few rows per file keep this fast; benchmarks/validate_more_math.py runs all of them. PRIME's
`<dataset>_idx<k>` is row k of the problem file, the join the benchmark uses too.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.config import load_config
from harness.data import load_problems
from harness.pipeline import run
from harness.registry import discover
from harness.results import read_samples, read_score_file

REPO = Path(__file__).resolve().parents[2]
ROWS = 6

# config -> (graded file, task) in the order of the config's tasks
CONFIGS = {
    "replay-prime-qwen25math7b.yaml": [
        ("prime_qwen25math7b_minerva_math", "minerva_math"),
        ("prime_qwen25math7b_olympiadbench", "olympiadbench"),
    ],
    "replay-prime-llama31-8b.yaml": [("prime_llama31_8b_minerva_math", "minerva_math")],
}
# The harness's verdicts on the first rows. They differ from the labels where the label's grader cannot read
# the gold (benchmarks/more_math_agreement.md): Minerva row 1 (4.5e33 against 4.5 \times 10^{33}) and row 5
# (np.arcsin(10/13) against \arcsin(1/1.3)).
EXPECTED = {
    "prime_qwen25math7b_minerva_math": ["wrong", "correct", "correct", "wrong", "correct", "correct"],
    "prime_qwen25math7b_olympiadbench": ["wrong", "wrong", "wrong", "correct", "wrong", "no_answer"],
    "prime_llama31_8b_minerva_math": ["wrong", "wrong", "correct", "wrong", "correct", "correct"],
}

DISAGREEING = {
    "prime_qwen25math7b_minerva_math": ["1", "5"],
    "prime_qwen25math7b_olympiadbench": [],
    "prime_llama31_8b_minerva_math": ["5"],
}


def graded_rows(shared_data: Path, name: str) -> list[dict]:
    lines = (shared_data / "graded_outputs" / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines[:ROWS]]


@pytest.mark.parametrize("config_name", sorted(CONFIGS))
def test_prime_outputs_replay_through_the_tasks(shared_data: Path, tmp_path: Path, config_name: str) -> None:
    replay, overrides, labels = tmp_path / "replay.jsonl", [], {}
    with replay.open("w", encoding="utf-8") as handle:
        for position, (name, task) in enumerate(CONFIGS[config_name]):
            data = shared_data / "more_math" / f"{task}.jsonl"
            overrides.append(f"tasks.{position}.data={data}")
            problems = load_problems(discover().get(task), data).problems
            for row in graded_rows(shared_data, name):
                problem = problems[int(row["problem_id"].rsplit("_idx", 1)[1])]
                assert problem.prompt == row["problem"].strip()
                line = {"task": task, "problem_id": problem.id, "sample_index": 0}
                handle.write(json.dumps({**line, "text": row["model_output"]}) + "\n")
                labels[(task, problem.id)] = row["label_correct"]
    config = load_config(
        REPO / "configs" / config_name, [f"model.path={replay}", *overrides], ROWS, tmp_path / "out"
    )
    outcomes = run(config, progress=False)
    assert [o.task for o in outcomes] == [task for _, task in CONFIGS[config_name]]
    for (name, task), outcome in zip(CONFIGS[config_name], outcomes, strict=True):
        assert outcome.score_file is not None
        record = read_score_file(outcome.score_file)
        samples = read_samples(outcome.score_file, record)
        assert [s.verdict for s in samples] == EXPECTED[name]
        disagreeing = [s.problem_id for s in samples if s.correct != labels[(task, s.problem_id)]]
        assert disagreeing == DISAGREEING[name]
        grader = record.protocol["grader"]["name"]
        assert grader == {"minerva_math": "minerva-answer", "olympiadbench": "olympiad-answer"}[task]
        assert record.protocol["prompt"]["system_prompt"].startswith("Please reason step by step")


def test_amc23_through_the_pipeline(shared_data: Path, tmp_path: Path) -> None:
    # No graded AMC outputs exist here; replay answers built from the golds in the forms models write.
    data = shared_data / "more_math" / "amc23.jsonl"
    problems = load_problems(discover().get("amc23"), data).problems
    replay = tmp_path / "replay.jsonl"
    with replay.open("w", encoding="utf-8") as handle:
        for position, problem in enumerate(problems):
            forms = (f"so $\\boxed{{{problem.answer}}}$", f"The answer is {problem.answer}.0", "\\boxed{0}")
            line = {"task": "amc23", "problem_id": problem.id, "sample_index": 0, "text": forms[position % 3]}
            handle.write(json.dumps(line) + "\n")
    config = tmp_path / "amc.yaml"
    config.write_text(
        f"model: {{name: replayed, backend: replay, path: {replay}}}\n"
        f"tasks: [{{name: amc23, data: {data}}}]\noutput: {tmp_path / 'out'}\n"
    )
    [outcome] = run(load_config(config), progress=False)
    assert outcome.score_file is not None
    record = read_score_file(outcome.score_file)
    assert record.counts == {"correct": 27, "wrong": 13}  # every third answer is 0, never an AMC 2023 answer
    assert record.protocol["grader"]["name"] == "math-verify"
    assert record.protocol["prompt"]["template"].endswith("put your final answer within \\boxed{}.")
    assert record.protocol["sampling"]["max_new_tokens"] == 32768
