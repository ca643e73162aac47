"""The generation stage: one engine call for the pending requests of every task of a run.

The engine gets all of them at once, so it can schedule them together (a batch or a server stays full
across tasks); each completion goes to its own task's journal as soon as it arrives, then to
`on_completion` (the grading stage). A session that generates for several tasks records its wall time and
energy in each task's run store, split by the task's share of the samples it was asked for.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from harness.backends.base import Backend, BackendError
from harness.cost.meter import energy_recorded
from harness.cost.readings import EnergyMeasurement, share_of
from harness.cost.settings import CostSettings
from harness.journal import Journal, read_journal
from harness.planning import TaskPlan
from harness.progress import generation_progress
from harness.prompt_fit import PromptFit, check_prompts, too_long_completion, warn_about, with_prompt_check
from harness.run_store import RunStore
from harness.sharding import Shard
from harness.types import Completion, ModelSpec, Problem, Request, SampleKey


class RunError(RuntimeError):
    """The run could not finish; completed samples stay in the journal for the next attempt."""


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during generation; the message says how many samples the journal holds."""


@dataclass
class TaskRun:
    """One task of a run while it runs: its plan, its store and journal, and what the journal holds."""

    plan: TaskPlan
    store: RunStore
    journal: Journal
    wanted: list[Request]  # this shard's requests (all of them when not sharded)
    done: dict[SampleKey, Completion] = field(default_factory=dict)
    journaled_before: int = 0  # of `wanted`, when this session started

    problems: dict[str, Problem] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.journaled_before = sum(r.key in self.done for r in self.wanted)
        self.problems = {p.id: p for p in self.plan.loaded.problems}

    @property
    def pending(self) -> list[Request]:
        return [r for r in self.wanted if r.key not in self.done]


OnCompletion = Callable[[TaskRun, Completion], None]


def shares(tasks: Sequence[TaskRun]) -> list[float]:
    """Each task's part of a session's time and energy: its share of the samples the session generates
    (of the samples it holds, when nothing is generated)."""
    weights = [len(t.pending) for t in tasks]
    if not any(weights):
        weights = [len(t.wanted) for t in tasks]
    total = sum(weights) or 1
    return [w / total for w in weights]


def generate_all(
    tasks: Sequence[TaskRun],
    backend_for: Callable[[], Backend],
    model: ModelSpec,
    prices: CostSettings,
    shard: Shard | None,
    on_completion: OnCompletion,
    progress: bool,
) -> float:
    """Generate every task's pending samples; returns this session's generation wall seconds."""
    active = [t for t in tasks if t.pending]
    if not active:
        return 0.0  # nothing to generate: the model is not even loaded
    parts = shares(active)

    def record_energy(measured: EnergyMeasurement) -> None:
        for task, share in zip(active, parts, strict=True):
            if task.journal.path.exists():  # as for time: a session that journaled nothing leaves no trace
                task.store.add_energy(share_of(measured, share), shard)

    with contextlib.ExitStack() as stack:
        clocks = [
            stack.enter_context(t.store.clock(shard, share)) for t, share in zip(active, parts, strict=True)
        ]
        stack.enter_context(
            energy_recorded(prices, backend=model.backend, device=model.device, record=record_energy)
        )
        try:
            _generate(active, backend_for(), model.backend, on_completion, progress)
        except KeyboardInterrupt:
            raise RunInterrupted(_saved_counts(active)) from None
        seconds = clocks[0].seconds
    return seconds


def _generate(
    tasks: Sequence[TaskRun], backend: Backend, backend_name: str, on_completion: OnCompletion, progress: bool
) -> None:
    """Set aside the prompts that do not fit the model's context, then generate the rest in one call."""
    pending = [r for t in tasks for r in t.pending]
    fit = check_prompts(backend, pending, backend_name)
    by_task = {t.plan.spec.name: t for t in tasks}
    for task in tasks:
        task.store.save_model_info(with_prompt_check(backend.info(), fit))
        warn_about(_fit_of(fit, task.plan.spec.name), task.plan.spec.name)
    for request in pending:  # journaled as such, so that a resume does not count them again
        if not fit.fits(request):
            _deliver(by_task[request.task], too_long_completion(request), on_completion)
    runnable = [r for r in pending if fit.fits(r)]
    label = ", ".join(by_task)
    expected = {r.key for r in runnable}
    with generation_progress(len(runnable), label, progress) as bar:
        if progress:  # batching backends report the tokens of a batch in flight
            backend.on_tokens = bar.tokens_in_flight
        try:
            for completion in backend.generate(runnable):
                if completion.key not in expected:
                    raise RunError(
                        f"task {completion.task}: backend returned a completion nobody asked for: "
                        f"{completion.key}"
                    )
                expected.discard(completion.key)
                _deliver(by_task[completion.task], completion, on_completion)
                bar.advance(completion.output_tokens)
        except BackendError as err:
            raise RunError(
                f"{'task' if len(by_task) == 1 else 'tasks'} {label}: {err} ({len(runnable) - len(expected)} "
                f"of {len(runnable)} samples were saved; rerun the same command to resume)"
            ) from err
        finally:
            backend.on_tokens = None
    for task in tasks:  # again: some facts are only known from the answers (the model a server named)
        task.store.save_model_info(with_prompt_check(backend.info(), fit))


def _deliver(task: TaskRun, completion: Completion, on_completion: OnCompletion) -> None:
    task.journal.append(completion)  # on disk before anything else happens to it
    task.done[completion.key] = completion
    on_completion(task, completion)


def _fit_of(fit: PromptFit, task: str) -> PromptFit:
    return replace(fit, too_long={k: v for k, v in fit.too_long.items() if k[0] == task})


def _saved_counts(tasks: Sequence[TaskRun]) -> str:
    # Counted on disk: Ctrl-C can land after a line is written but before it is counted.
    parts = []
    for task in tasks:
        on_disk = read_journal(task.journal.path).completions
        saved = sum(r.key in on_disk for r in task.wanted)
        before = task.journaled_before
        parts.append(
            f"task {task.plan.spec.name}: {saved} of {len(task.wanted)} samples are saved in the journal "
            f"{task.journal.path} ({saved - before} added in this session)"
        )
    return "; ".join(parts) + "; rerun the same command to resume"


def describe_missing(task: TaskRun) -> str | None:
    missing = [r.key for r in task.wanted if r.key not in task.done]
    if not missing:
        return None
    return (
        f"task {task.plan.spec.name}: the backend returned no completion for {len(missing)} samples "
        f"(first: {missing[0]}); rerun to retry them"
    )
