"""run(config): the only module that knows the order of the stages.

config -> planning (problems, requests, protocol, run id) -> generation (one engine call for every
task) -> run store (journals) -> grading, beside generation -> results (a score file per task).
Every task is planned before any model is loaded, so a bad task entry fails fast; a run whose samples
are all journaled already is rescored without loading the model. While the engine generates, each
completion is journaled and then graded at once, so a run takes about as long as the longer of
generation and grading, not their sum.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.backends.base import Backend
from harness.config import EvalConfig
from harness.cost.readings import EnergyMeasurement
from harness.cost.settings import CostSettings
from harness.generation import RunError, RunInterrupted, TaskRun, describe_missing, generate_all, shares
from harness.grading import StreamingGrader, score_completions
from harness.output_folder import check_writable
from harness.planning import TaskPlan, journal_fingerprint, plan_tasks
from harness.progress import set_library_progress
from harness.registry import TaskRegistry, discover
from harness.results import write_task_score_file
from harness.run_store import RunStore
from harness.sharding import Shard
from harness.types import Completion, ModelInfo, ModelSpec, Request, Score

__all__ = ["RunError", "RunInterrupted", "TaskOutcome", "run"]


@dataclass(frozen=True)
class TaskOutcome:
    task: str
    score_file: Path | None  # None for a shard, which writes only its journal
    metrics: Mapping[str, Any]
    samples_done: int
    samples_total: int


@dataclass(frozen=True)
class RunCost:
    """What a task's run cost, as the run store recorded it over every session, and the prices."""

    wall_seconds: float
    energy: EnergyMeasurement
    prices: CostSettings


class BackendSession:
    """Creates the backend on first use, so rescoring a finished journal never loads the model.

    The backend gets every request of the run, all tasks and shards, through `expect_requests` before
    anything is generated."""

    def __init__(self, spec: ModelSpec, requests: Sequence[Request] = ()):
        self.spec = spec
        self.requests = requests
        self._backend: Backend | None = None

    def get(self) -> Backend:
        if self._backend is None:
            from harness.backends.registry import create_backend

            backend = create_backend(self.spec)
            try:
                backend.expect_requests(self.requests)
            except BaseException:
                backend.close()
                raise
            self._backend = backend
        return self._backend

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()


def run(
    config: EvalConfig,
    *,
    registry: TaskRegistry | None = None,
    shard: Shard | None = None,
    command: str | None = None,
    progress: bool = True,
) -> list[TaskOutcome]:
    """Evaluate every task of the config; return where each score file went."""
    check_writable(config.output)  # before the data and the model are loaded, not after
    set_library_progress(progress)  # engines' own bars (model loading) follow --no-progress too
    registry = registry or discover(config.task_paths)
    plans = plan_tasks(config, registry)
    session = BackendSession(config.model, [r for plan in plans for r in plan.requests])
    try:
        with contextlib.ExitStack() as locks:  # a second run of any of these journals is refused
            tasks = [open_task(plan, config, shard, locks) for plan in plans]
            if shard is not None:
                generate_all(tasks, session.get, config.model, config.cost, shard, _ignore, progress)
                _check_complete(tasks)
                return [TaskOutcome(t.plan.spec.name, None, {}, len(t.wanted), len(t.wanted)) for t in tasks]
            return evaluate(tasks, session, config, command, progress)
    finally:
        session.close()


def open_task(
    plan: TaskPlan, config: EvalConfig, shard: Shard | None, locks: contextlib.ExitStack
) -> TaskRun:
    store = RunStore(config.output, plan.run_id)
    locks.enter_context(store.lock(shard))
    journal = store.journal(journal_fingerprint(config.model, plan), shard)
    wanted = [r for r in plan.requests if shard is None or shard.owns(r.key)]
    return TaskRun(plan, store, journal, wanted, journal.load())


def evaluate(
    tasks: list[TaskRun], session: BackendSession, config: EvalConfig, command: str | None, progress: bool
) -> list[TaskOutcome]:
    """Generate what is missing while grading what arrives; then write each task's score file."""
    if not any(t.pending for t in tasks):  # a rescore: grade each task in one batch, as fast as it goes
        return [
            finish_task(t.plan, _model_info(t, session), _completions(t), config.output,
                        run_cost(t.store, config, time.monotonic()), command, progress)
            for t in tasks
        ]  # fmt: skip
    started = time.monotonic()
    parts = shares(tasks)
    grader = StreamingGrader(progress)
    try:

        def grade(task: TaskRun, completion: Completion) -> None:
            grader.submit(task.plan, task.problems[completion.problem_id], completion)

        for task in tasks:  # what earlier sessions journaled is graded while the rest is generated
            for completion in task.done.values():
                grade(task, completion)
        generating = generate_all(tasks, session.get, config.model, config.cost, None, grade, progress)
        _check_complete(tasks)
        outcomes = []
        for task, share in zip(tasks, parts, strict=True):
            model_info = _model_info(task, session)
            completions = _completions(task)
            scores = grader.scores(completions, model_info.extra.get("context_tokens"))
            # This task's share of the session's time besides generating (grading after it, writing).
            other = max(time.monotonic() - started - generating, 0.0) * share
            cost = RunCost(task.store.generation_seconds() + other, task.store.energy(), config.cost)
            outcomes.append(
                write_outcome(task.plan, model_info, completions, scores, config.output, cost, command)
            )
        return outcomes
    finally:
        grader.close()


def finish_task(
    plan: TaskPlan,
    model_info: ModelInfo,
    completions: Sequence[Completion],
    output: Path,
    cost: Callable[[], RunCost],
    command: str | None,
    progress: bool,
) -> TaskOutcome:
    """Grade the completions (all at once: a rescore or a merge) and write the score file and samples
    file; `cost` is asked once the grading is done, so the wall time includes it."""
    scores = score_completions(plan, completions, progress, model_info.extra.get("context_tokens"))
    return write_outcome(plan, model_info, completions, scores, output, cost(), command)


def write_outcome(
    plan: TaskPlan,
    model_info: ModelInfo,
    completions: Sequence[Completion],
    scores: Sequence[Score],
    output: Path,
    cost: RunCost,
    command: str | None,
) -> TaskOutcome:
    graded = list(zip(completions, scores, strict=True))
    path, record = write_task_score_file(
        output, plan, model_info, graded, cost.wall_seconds, command, cost.energy, cost.prices
    )
    return TaskOutcome(plan.spec.name, path, record.metrics, len(completions), len(completions))


def _model_info(task: TaskRun, session: BackendSession) -> ModelInfo:
    return task.store.load_model_info() or session.get().info()


def _completions(task: TaskRun) -> list[Completion]:
    return [task.done[r.key] for r in task.plan.requests]


def run_cost(
    store: RunStore, config: EvalConfig, started: float, stores_generated: Sequence[Shard | None] = (None,)
) -> Callable[[], RunCost]:
    """The cost of a rescore or merge, asked for when its grading is done: the generation time and energy
    every session recorded, plus the time since `started`."""

    def cost() -> RunCost:
        generated = sum(store.generation_seconds(s) for s in stores_generated)
        wall = generated + time.monotonic() - started
        return RunCost(wall, store.energy(stores_generated), config.cost)

    return cost


def _check_complete(tasks: Sequence[TaskRun]) -> None:
    for task in tasks:
        problem = describe_missing(task)
        if problem is not None:
            raise RunError(problem)


def _ignore(task: TaskRun, completion: Completion) -> None:
    """A shard only journals; grading happens when the shards are merged."""
