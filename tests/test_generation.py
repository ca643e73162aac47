"""The generation stage: every task's pending requests go to the engine in one call, each completion
lands in its own task's journal, and the session's time and energy are split between the tasks."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from harness.backends.base import BackendBase
from harness.config import load_config
from harness.cost.settings import CostSettings
from harness.generation import RunInterrupted, TaskRun, generate_all, shares
from harness.pipeline import open_task
from harness.planning import plan_tasks
from harness.registry import discover
from harness.types import Completion, ModelInfo, ModelSpec, Request


class Echo(BackendBase):
    """Answers every request with its problem id; remembers each call's requests; can stop after k."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.calls: list[list[Request]] = []
        self.stop_after = stop_after

    def info(self) -> ModelInfo:
        return ModelInfo("echo", "echo", "-", None, "none", "cpu", "echo", 1, None)

    def generate(self, requests: Sequence[Request]) -> Iterator[Completion]:
        self.calls.append(list(requests))
        for done, r in enumerate(requests):
            if done == self.stop_after:
                raise KeyboardInterrupt
            yield Completion(r.task, r.problem_id, r.sample_index, r.problem_id, 2, "stop", 0.01)


def open_tasks(tmp_path: Path, stack: contextlib.ExitStack) -> list[TaskRun]:
    path = tmp_path / "c.yaml"
    path.write_text(
        "model: {name: echo, backend: replay, path: x.jsonl}\n"
        "tasks: [{name: sample-math, limit: 3}, {name: sample-code, limit: 1}]\n"
        f"output: {tmp_path / 'out'}\n"
    )
    config = load_config(path)
    return [open_task(plan, config, None, stack) for plan in plan_tasks(config, discover())]


SPEC = ModelSpec(name="echo", backend="replay", path="x.jsonl")


def test_one_engine_call_for_every_task_and_each_completion_in_its_journal(tmp_path: Path) -> None:
    backend, arrived = Echo(), []
    with contextlib.ExitStack() as stack:
        tasks = open_tasks(tmp_path, stack)
        assert shares(tasks) == [0.75, 0.25]  # by the samples each task asks for
        record = lambda t, c: arrived.append((t.plan.spec.name, c.task))  # noqa: E731
        seconds = generate_all(tasks, lambda: backend, SPEC, CostSettings(), None, record, progress=False)
    [call] = backend.calls
    assert sorted({r.task for r in call}) == ["sample-code", "sample-math"] and len(call) == 4
    assert len(arrived) == 4 and all(name == task for name, task in arrived)
    math, code = tasks
    assert {c.task for c in math.journal.load().values()} == {"sample-math"} and len(math.done) == 3
    assert {c.task for c in code.journal.load().values()} == {"sample-code"} and len(code.done) == 1
    walls = [t.store.generation_seconds() for t in tasks]
    # Each task's clock stops on its own, a moment apart: the split holds up to that moment.
    assert walls[0] == pytest.approx(3 * walls[1], abs=0.05) and sum(walls) <= seconds + 0.05
    energy = [json.loads(t.store.energy_path().read_text())["sessions"] for t in tasks]
    assert [len(s) for s in energy] == [1, 1]  # replay: unknown energy, recorded once per task
    assert energy[0][0]["seconds"] == pytest.approx(3 * energy[1][0]["seconds"], rel=1e-6)
    assert math.store.load_model_info() == code.store.load_model_info() is not None


def test_ctrl_c_says_what_each_task_saved_and_a_rerun_generates_only_the_rest(tmp_path: Path) -> None:
    with contextlib.ExitStack() as stack:
        tasks = open_tasks(tmp_path, stack)
        with pytest.raises(RunInterrupted) as caught:
            generate_all(tasks, lambda: Echo(stop_after=2), SPEC, CostSettings(), None,
                         lambda t, c: None, progress=False)  # fmt: skip
    message = str(caught.value)
    assert "task sample-math: " in message and "task sample-code: 0 of 1 samples are saved" in message
    assert message.endswith("rerun the same command to resume")
    backend = Echo()
    with contextlib.ExitStack() as stack:
        tasks = open_tasks(tmp_path, stack)
        generate_all(tasks, lambda: backend, SPEC, CostSettings(), None, lambda t, c: None, progress=False)
    assert len(backend.calls[0]) == 2 and all(len(t.done) == len(t.wanted) for t in tasks)
    sessions = json.loads(tasks[0].store.energy_path().read_text())["sessions"]
    assert len(sessions) == 2  # the interrupted session's energy record is kept and added to


def test_nothing_pending_loads_no_model(tmp_path: Path) -> None:
    def no_model() -> Echo:
        raise AssertionError("the model was loaded")

    with contextlib.ExitStack() as stack:
        tasks = open_tasks(tmp_path, stack)
        for task in tasks:
            task.wanted = []
        assert generate_all(tasks, no_model, SPEC, CostSettings(), None, lambda t, c: None, False) == 0.0
