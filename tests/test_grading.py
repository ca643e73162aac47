"""Grading: in one batch (a rescore) or streamed as completions arrive (a run that generates); both give
the same scores, and a grader that fails on one sample gives that sample a verdict, not the run an end."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from pathlib import Path

from harness.config import load_config
from harness.grading import StreamingGrader, runs_code, score_completions
from harness.planning import TaskPlan, plan_tasks
from harness.prompt_fit import PROMPT_TOO_LONG
from harness.registry import discover
from harness.types import Completion, Grader, Problem, Score, Verdict

REPO = Path(__file__).resolve().parents[1]


def shipped_samples(task: str) -> Path:
    """The samples file results/ ships for this quickstart task from the hf backend (run ids change when
    a grader version does, so the file is found by its score file's model block, not by name)."""
    for score_file in sorted((REPO / "results").glob(f"*__{task}__*.json")):
        if json.loads(score_file.read_text())["model"]["backend"] == "hf":
            return score_file.with_suffix(".samples.jsonl")
    raise AssertionError(f"results/ ships no hf score file for {task}")


SHIPPED = {task: shipped_samples(task) for task in ("sample-math", "sample-code")}


def plan_of(tmp_path: Path, task: str) -> TaskPlan:
    config = tmp_path / "c.yaml"
    config.write_text(f"model: {{name: m, backend: replay, path: x.jsonl}}\ntasks: [{task}]\n")
    [plan] = plan_tasks(load_config(config), discover())
    return plan


def shipped_completions(task: str) -> list[Completion]:
    rows = [json.loads(line) for line in SHIPPED[task].read_text().splitlines()]
    return [
        Completion(task, r["problem_id"], r["sample_index"], r["completion"], r["output_tokens"], "stop", 1.0)
        for r in rows
    ]


def streamed(plan: TaskPlan, completions: list[Completion]) -> list[Score]:
    problems = {p.id: p for p in plan.loaded.problems}
    grader = StreamingGrader(progress=False, workers=2)
    try:
        for completion in reversed(completions):  # arrival order is not plan order
            grader.submit(plan, problems[completion.problem_id], completion)
        return grader.scores(completions, context_tokens=2048)
    finally:
        grader.close()


def test_streamed_scores_equal_batch_scores_for_math_and_code(tmp_path: Path) -> None:
    for task in ("sample-math", "sample-code"):
        plan = plan_of(tmp_path, task)
        completions = shipped_completions(task)
        completions[0] = replace(completions[0], text="", output_tokens=0, finish_reason=PROMPT_TOO_LONG)
        batch = score_completions(plan, completions, progress=False, context_tokens=2048)
        assert streamed(plan, completions) == batch
        assert runs_code(plan) == (task == "sample-code")
        assert batch[0].verdict is Verdict.PROMPT_TOO_LONG and "2048 tokens" in str(batch[0].detail)
        assert {s.verdict for s in batch[1:]} - {Verdict.PROMPT_TOO_LONG} == {s.verdict for s in batch[1:]}


def test_math_is_graded_on_the_callers_thread_and_code_in_the_pool(tmp_path: Path) -> None:
    seen: dict[str, str] = {}

    def recording(name: str, sandboxed: bool) -> Grader:
        def score(problem: Problem, completion: Completion) -> Score:
            seen[name] = threading.current_thread().name
            if completion.sample_index == 1:
                raise RuntimeError("grader bug")
            return Score(problem.id, completion.sample_index, Verdict.CORRECT, "x")

        return Grader(name, "1", score, {"sandbox": "test"} if sandboxed else {})

    for name, sandboxed in (("math-like", False), ("code-like", True)):
        plan = plan_of(tmp_path, "sample-math")
        plan = replace(plan, spec=replace(plan.spec, grader=recording(name, sandboxed)))
        problem = plan.loaded.problems[0]
        completions = [Completion("sample-math", problem.id, i, "x", 1, "stop") for i in (0, 1)]
        ok, broken = streamed(plan, completions)
        assert ok.verdict is Verdict.CORRECT
        assert broken.verdict is Verdict.INFRA_ERROR and "RuntimeError: grader bug" in str(broken.detail)
    assert seen["math-like"] == threading.current_thread().name
    assert seen["code-like"] != threading.current_thread().name
