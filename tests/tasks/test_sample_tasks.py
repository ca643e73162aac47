"""The project's own sample tasks: reference solutions pass, wrong ones fail, through the whole pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.config import load_config
from harness.data import load_problems
from harness.pipeline import run
from harness.registry import discover
from harness.results import read_samples, read_score_file

REFERENCE = {
    "sum-two": "a, b = map(int, input().split())\nprint(a + b)",
    "hello": "print('Hello, World!')",
    "reverse": "print(input()[::-1])",
    "count-up": "n = int(input())\nfor i in range(1, n + 1):\n    print(i)",
    "list-sum": "input()\nprint(sum(map(int, input().split())))",
    "max-of-three": "print(max(map(int, input().split())))",
    "add-two": "class Solution:\n    def addTwo(self, a, b):\n        return a + b",
    "is-even": "class Solution:\n    def isEven(self, n):\n        return n % 2 == 0",
    "largest": "class Solution:\n    def largest(self, nums):\n        return max(nums)",
    "count-vowels": (
        "class Solution:\n    def countVowels(self, s):\n        return sum(c in 'aeiou' for c in s)"
    ),
}


@pytest.mark.slow
def test_sample_code_reference_solutions_pass_and_wrong_ones_fail(tmp_path: Path) -> None:
    problems = load_problems(discover().get("sample-code")).problems
    assert sorted(p.id for p in problems) == sorted(REFERENCE)
    lines = []
    for problem in problems:
        for index, code in enumerate([REFERENCE[problem.id], "print('nothing useful')", "no code at all"]):
            text = code if index == 2 else f"Here it is:\n```python\n{code}\n```"
            lines.append(
                {"task": "sample-code", "problem_id": problem.id, "sample_index": index, "text": text}
            )
    replay = tmp_path / "replay.jsonl"
    replay.write_text("".join(json.dumps(line) + "\n" for line in lines))
    config = tmp_path / "c.yaml"
    config.write_text(
        f"model: {{name: ref, backend: replay, path: {replay}}}\ngeneration: {{n: 3, temperature: 0.6}}\n"
        f"tasks: [sample-code]\noutput: {tmp_path / 'out'}\n"
    )
    [outcome] = run(load_config(config), progress=False)
    record = read_score_file(outcome.score_file)  # type: ignore[arg-type]
    verdicts = {(r.problem_id, r.sample_index): r.verdict for r in read_samples(outcome.score_file, record)}  # type: ignore[arg-type]
    assert all(verdicts[(pid, 0)] == "passed" for pid in REFERENCE)
    assert all(verdicts[(pid, 1)] in ("wrong_answer", "runtime_error") for pid in REFERENCE)
    assert all(verdicts[(pid, 2)] == "no_code" for pid in REFERENCE)
    assert record.metrics["pass@1"] == pytest.approx(1 / 3)
    assert record.metrics["pass@3"] == pytest.approx(1.0)


def test_sample_math_answers_are_right() -> None:
    problems = {p.id: p for p in load_problems(discover().get("sample-math")).problems}
    assert problems["mul-3"].answer == "132" and problems["time-1"].answer == "120"
