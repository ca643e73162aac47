"""run(config): the only module that knows the order of the stages.

config -> planning (problems, requests, protocol, run id) -> backend.generate -> run store (journal) ->
grading -> results (score file). Each task is planned before any model is loaded, so a bad task entry
fails fast, and a run whose samples are all journaled already is rescored without loading the model.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.backends.base import Backend, BackendError
from harness.config import EvalConfig
from harness.cost.meter import energy_recorded
from harness.cost.readings import EnergyMeasurement
from harness.cost.settings import CostSettings
from harness.grading import score_completions
from harness.journal import Journal, read_journal
from harness.output_folder import check_writable
from harness.planning import TaskPlan, journal_fingerprint, plan_tasks
from harness.progress import generation_progress
from harness.prompt_fit import check_prompts, too_long_completion, warn_about, with_prompt_check
from harness.registry import TaskRegistry, discover
from harness.results import write_task_score_file
from harness.run_store import RunStore
from harness.sharding import Shard
from harness.types import Completion, ModelInfo, ModelSpec, Request


class RunError(RuntimeError):
    """The run could not finish; completed samples stay in the journal for the next attempt."""


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during generation; the message says how many samples the journal holds."""


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
    registry = registry or discover(config.task_paths)
    plans = plan_tasks(config, registry)
    session = BackendSession(config.model, [r for plan in plans for r in plan.requests])
    outcomes = []
    try:
        for plan in plans:
            outcomes.append(run_task(plan, config, session, shard, command, progress))
    finally:
        session.close()
    return outcomes


def run_task(
    plan: TaskPlan,
    config: EvalConfig,
    session: BackendSession,
    shard: Shard | None,
    command: str | None,
    progress: bool,
) -> TaskOutcome:
    started = time.monotonic()
    store = RunStore(config.output, plan.run_id)
    journal_path = store.journal_path(shard)
    with store.lock(shard):  # a second run of this journal is refused, never duplicated
        journal = store.journal(journal_fingerprint(config.model, plan), shard)
        done = journal.load()
        wanted = [r for r in plan.requests if shard is None or shard.owns(r.key)]
        pending = [r for r in wanted if r.key not in done]
        generating = 0.0  # this session's generation wall time, model loading included
        if pending:
            with (
                store.clock(shard) as clock,  # records the time as it accrues
                energy_recorded(  # started before the model loads; kept beside the journal
                    config.cost,
                    backend=config.model.backend,
                    device=config.model.device,
                    record=lambda measured: store.add_energy(measured, shard),
                ),
            ):
                try:
                    generate_pending(plan, session, journal, pending, store, progress)
                except KeyboardInterrupt:
                    # Counted on disk: Ctrl-C can land after a line is written but before it is counted.
                    on_disk = read_journal(journal_path).completions
                    saved = sum(r.key in on_disk for r in wanted)
                    added = saved - (len(wanted) - len(pending))
                    raise RunInterrupted(
                        f"task {plan.spec.name}: {saved} of {len(wanted)} samples are saved in the journal "
                        f"{journal_path} ({added} added in this session); rerun the same command to resume"
                    ) from None
                generating = clock.seconds
            done = journal.load()
        missing = [r.key for r in wanted if r.key not in done]
        if missing:
            raise RunError(
                f"task {plan.spec.name}: the backend returned no completion for {len(missing)} samples "
                f"(first: {missing[0]}); rerun to retry them"
            )
        if shard is not None:
            return TaskOutcome(plan.spec.name, None, {}, len(wanted), len(wanted))
        model_info = store.load_model_info() or session.get().info()
        completions = [done[r.key] for r in plan.requests]
        # Generation time of every session that filled the journal, plus this session's other work.
        wall = store.generation_seconds() + (time.monotonic() - started - generating)
        cost = RunCost(wall, store.energy(), config.cost)
        return finish_task(plan, model_info, completions, config.output, cost, command, progress)


def generate_pending(
    plan: TaskPlan,
    session: BackendSession,
    journal: Journal,
    pending: Sequence[Request],
    store: RunStore,
    progress: bool,
) -> None:
    """Load the model, set aside the prompts that do not fit its context, and journal every completion."""
    backend = session.get()
    fit = check_prompts(backend, pending, session.spec.backend)
    store.save_model_info(with_prompt_check(backend.info(), fit))
    warn_about(fit, plan.spec.name)
    for request in pending:  # journaled as such, so that a resume does not count them again
        if not fit.fits(request):
            journal.append(too_long_completion(request))
    runnable = [r for r in pending if fit.fits(r)]
    generate_into(journal, backend, runnable, plan.spec.name, progress)
    # Again: some facts are only known from the answers (the model a server says it served).
    store.save_model_info(with_prompt_check(backend.info(), fit))


def finish_task(
    plan: TaskPlan,
    model_info: ModelInfo,
    completions: Sequence[Completion],
    output: Path,
    cost: RunCost,
    command: str | None,
    progress: bool,
) -> TaskOutcome:
    """Grade the completions and write the score file and per-sample file."""
    scores = score_completions(plan, completions, progress, model_info.extra.get("context_tokens"))
    graded = list(zip(completions, scores, strict=True))
    path, record = write_task_score_file(
        output, plan, model_info, graded, cost.wall_seconds, command, cost.energy, cost.prices
    )
    return TaskOutcome(plan.spec.name, path, record.metrics, len(completions), len(completions))


def generate_into(
    journal: Journal, backend: Backend, pending: Sequence[Request], task: str, progress: bool
) -> None:
    expected = {r.key for r in pending}
    with generation_progress(len(pending), task, progress) as bar:
        if progress:  # batching backends report the tokens of a batch in flight
            backend.on_tokens = bar.tokens_in_flight
        try:
            for completion in backend.generate(pending):
                if completion.key not in expected:
                    raise RunError(
                        f"task {task}: backend returned a completion nobody asked for: {completion.key}"
                    )
                journal.append(completion)
                expected.discard(completion.key)
                bar.advance(completion.output_tokens)
        except BackendError as err:
            raise RunError(
                f"task {task}: {err} ({len(pending) - len(expected)} of {len(pending)} samples "
                "were saved; rerun the same command to resume)"
            ) from err
        finally:
            backend.on_tokens = None
