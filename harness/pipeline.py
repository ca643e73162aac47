"""run(config): the only module that knows the order of the stages.

config -> registry -> TaskSpec -> problems -> requests -> backend.generate -> journal -> scores -> metrics ->
score file. Each task is planned (problems, requests, protocol) before any model is loaded, so a bad task
entry fails fast, and a run whose samples are all journaled already is rescored without loading the model.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.backends.base import Backend, BackendError
from harness.config import GENERATION_DEFAULTS, ConfigError, EvalConfig, TaskRequest
from harness.data import LoadedProblems, load_problems
from harness.journal import (
    GenerationClock,
    Journal,
    JournalLock,
    read_journal,
    recorded_generation_seconds,
)
from harness.output_folder import check_writable
from harness.progress import generation_progress, scoring_progress
from harness.prompt_fit import (
    PROMPT_TOO_LONG,
    check_prompts,
    too_long_completion,
    too_long_score,
    warn_about,
    with_prompt_check,
)
from harness.protocol import build_protocol, sample_seed
from harness.registry import TaskRegistry, discover
from harness.results import (
    SCHEMA_VERSION,
    ScoreFile,
    provenance_now,
    sample_row,
    score_file_name,
    write_score_file,
)
from harness.scoring.metrics import compute_metrics, metrics_to_dict
from harness.scoring.tamper import tampering_counts
from harness.sharding import Shard
from harness.types import (
    ChatMessage,
    Completion,
    ModelInfo,
    ModelSpec,
    Problem,
    Request,
    Sampling,
    Score,
    Scorer,
    TaskSpec,
    Verdict,
)


class RunError(RuntimeError):
    """The run could not finish; completed samples stay in the journal for the next attempt."""


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during generation; the message says how many samples the journal holds."""


@dataclass(frozen=True)
class TaskPlan:
    spec: TaskSpec
    request_entry: TaskRequest
    loaded: LoadedProblems
    sampling: Sampling
    requests: tuple[Request, ...]
    protocol: Mapping[str, Any]
    run_id: str


@dataclass(frozen=True)
class TaskOutcome:
    task: str
    score_file: Path | None  # None for a shard, which writes only its journal
    metrics: Mapping[str, Any]
    samples_done: int
    samples_total: int


def plan_tasks(config: EvalConfig, registry: TaskRegistry) -> list[TaskPlan]:
    return [plan_task(config, registry, entry) for entry in config.tasks]


def plan_task(config: EvalConfig, registry: TaskRegistry, entry: TaskRequest) -> TaskPlan:
    try:
        spec = registry.get(entry.name)
    except KeyError as err:
        raise ConfigError(f"{config.source}: {entry.field_path}.name: {err.args[0]}") from None
    unknown = sorted(set(entry.options) - set(spec.options))
    if unknown:
        allowed = ", ".join(sorted(spec.options)) or "none"
        raise ConfigError(
            f"{config.source}: {entry.field_path}.{unknown[0]}: unknown key for task "
            f"{spec.name} (task options: {allowed})"
        )
    options = {**spec.options, **entry.options}
    sampling = resolve_sampling(spec, config.generation, entry.generation)
    if sampling.greedy and sampling.n > 1:
        # Refused rather than warned about: n identical greedy samples cost n times the compute and make
        # pass@k and maj@k look like the results of a sampled protocol, which they are not.
        raise ConfigError(
            f"{config.source}: {entry.field_path}: temperature 0 (greedy decoding) with n={sampling.n} "
            f"would give {sampling.n} identical samples per problem; set n: 1, or a temperature above 0 "
            "to draw different samples"
        )
    loaded = load_problems(spec, entry.data, entry.limit, options)
    template = entry.prompt_template or spec.prompt_template
    system_prompt = entry.system_prompt if entry.system_prompt is not None else spec.system_prompt
    protocol = build_protocol(spec, loaded, options, sampling, template, system_prompt)
    run_id = make_run_id(config.model, protocol["hash"])
    requests = build_requests(spec.name, loaded.problems, sampling, template, system_prompt)
    return TaskPlan(spec, entry, loaded, sampling, requests, protocol, run_id)


def resolve_sampling(
    spec: TaskSpec, config_generation: Mapping[str, Any], task_generation: Mapping[str, Any]
) -> Sampling:
    """Defaults < the task's own defaults < the config's generation block < the task entry."""
    merged = {**GENERATION_DEFAULTS, **spec.defaults, **config_generation, **task_generation}
    return Sampling(
        temperature=float(merged["temperature"]),
        top_p=float(merged["top_p"]),
        top_k=int(merged["top_k"]),
        max_new_tokens=int(merged["max_new_tokens"]),
        n=int(merged["n"]),
        seed=int(merged["seed"]),
        stop=tuple(merged["stop"]),
    )


def build_requests(
    task: str, problems: Sequence[Problem], sampling: Sampling, template: str, system_prompt: str | None
) -> tuple[Request, ...]:
    requests = []
    for problem in problems:
        messages = [ChatMessage("user", template.replace("{problem}", problem.prompt))]
        if system_prompt:
            messages.insert(0, ChatMessage("system", system_prompt))
        for index in range(sampling.n):
            seed = sample_seed(sampling.seed, task, problem.id, index)
            requests.append(Request(task, problem.id, index, tuple(messages), sampling, seed))
    return tuple(requests)


def model_identity(model: ModelSpec) -> dict[str, Any]:
    """What names the model whose completions a journal holds. How it is reached (server address,
    concurrency, device, batch size) is left out, so a run resumes after such a change; the score file's
    model block records what was used."""
    return {
        "name": model.name,
        "backend": model.backend,
        "path": model.path,
        "revision": model.revision,
        "dtype": model.dtype,
    }


def make_run_id(model: ModelSpec, protocol_hash: str) -> str:
    identity = json.dumps([model_identity(model), protocol_hash], sort_keys=True, default=str)
    return hashlib.sha256(identity.encode()).hexdigest()[:12]


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
    output = config.output
    journal_path = (
        output
        / ".journal"
        / (plan.run_id + (f".shard{shard.index}of{shard.count}" if shard else "") + ".jsonl")
    )
    with JournalLock(journal_path):  # a second run of this journal is refused, never duplicated
        journal = Journal(journal_path, journal_fingerprint(config.model, plan))
        done = journal.load()
        wanted = [r for r in plan.requests if shard is None or shard.owns(r.key)]
        pending = [r for r in wanted if r.key not in done]
        model_info_path = output / ".journal" / f"{plan.run_id}.model.json"
        generating = 0.0  # this session's generation wall time, model loading included
        if pending:
            with GenerationClock(journal_path) as clock:  # records the time as it accrues
                try:
                    generate_pending(plan, session, journal, pending, model_info_path, progress)
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
        model_info = load_model_info(model_info_path) or session.get().info()
        completions = [done[r.key] for r in plan.requests]
        # Generation time of every session that filled the journal, plus this session's other work.
        wall = recorded_generation_seconds(journal_path) + (time.monotonic() - started - generating)
        return finish_task(plan, model_info, completions, output, wall, command, progress)


def generate_pending(
    plan: TaskPlan,
    session: BackendSession,
    journal: Journal,
    pending: Sequence[Request],
    model_info_path: Path,
    progress: bool,
) -> None:
    """Load the model, set aside the prompts that do not fit its context, and journal every completion."""
    backend = session.get()
    fit = check_prompts(backend, pending, session.spec.backend)
    save_model_info(model_info_path, with_prompt_check(backend.info(), fit))
    warn_about(fit, plan.spec.name)
    for request in pending:  # journaled as such, so that a resume does not count them again
        if not fit.fits(request):
            journal.append(too_long_completion(request))
    runnable = [r for r in pending if fit.fits(r)]
    generate_into(journal, backend, runnable, plan.spec.name, progress)
    # Again: some facts are only known from the answers (the model a server says it served).
    save_model_info(model_info_path, with_prompt_check(backend.info(), fit))


def finish_task(
    plan: TaskPlan,
    model_info: ModelInfo,
    completions: Sequence[Completion],
    output: Path,
    wall_seconds: float,
    command: str | None,
    progress: bool,
) -> TaskOutcome:
    """Score completions, compute metrics, and write the score file and per-sample file."""
    scores = score_completions(plan, completions, progress, model_info.extra.get("context_tokens"))
    rows = [sample_row(c, s) for c, s in zip(completions, scores, strict=True)]
    metrics = compute_metrics(
        scores, [p.id for p in plan.loaded.problems], plan.sampling.n, bootstrap_seed=plan.sampling.seed
    )
    metrics_dict = metrics_to_dict(metrics)
    generated = sum(c.output_tokens for c in completions)
    generation_seconds = sum(c.seconds for c in completions)
    name = score_file_name(model_info.name, plan.spec.name, plan.run_id)
    record = ScoreFile(
        schema_version=SCHEMA_VERSION,
        run_id=plan.run_id,
        created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        task={"name": plan.spec.name, "version": plan.spec.version},
        model=asdict(model_info),
        protocol=dict(plan.protocol),
        metrics=metrics_dict,
        counts=dict(metrics.verdict_counts),
        provenance=provenance_now(command),
        cost={
            "wall_seconds": round(wall_seconds, 3),
            "generated_tokens": generated,
            "generation_seconds": round(generation_seconds, 3),
            "tokens_per_second": round(generated / generation_seconds, 2) if generation_seconds > 0 else None,
        },
        samples_file=name.removesuffix(".json") + ".samples.jsonl",
        # Graders that run code (they name their sandbox) count what programs tried; see scoring/tamper.py.
        tampering=tampering_counts(scores) if "sandbox" in plan.spec.grader.settings else None,
    )
    path = output / name
    write_score_file(path, record, rows)
    return TaskOutcome(plan.spec.name, path, metrics_dict, len(completions), len(completions))


def score_completions(
    plan: TaskPlan, completions: Sequence[Completion], progress: bool, context_tokens: Any = None
) -> list[Score]:
    """One Score per completion. Samples whose prompt did not fit were never generated and get the
    verdict prompt_too_long without being graded; an exception while grading one sample becomes that
    sample's verdict."""
    problems = {p.id: p for p in plan.loaded.problems}
    grader = plan.spec.grader
    graded = [c for c in completions if c.finish_reason != PROMPT_TOO_LONG]
    scores: list[Score] | None = None
    if grader.score_many is not None:  # e.g. code execution in a worker pool, with its own progress bar
        try:
            scores = list(grader.score_many([(problems[c.problem_id], c) for c in graded]))
        except Exception:  # a grader bug: find which samples it hits, one at a time below
            scores = None
    if scores is None:
        progressing = scoring_progress(graded, plan.spec.name, progress)
        scores = [_score_one(grader.score, problems[c.problem_id], c) for c in progressing]
    by_key = {(s.problem_id, s.sample_index): s for s in scores}
    return [
        by_key[(c.problem_id, c.sample_index)]
        if c.finish_reason != PROMPT_TOO_LONG
        else too_long_score(c, context_tokens)
        for c in completions
    ]


def _score_one(score: Scorer, problem: Problem, completion: Completion) -> Score:
    try:
        return score(problem, completion)
    except Exception as exc:
        detail = f"grader error (not the model's fault): {type(exc).__name__}: {exc}"[:1000]
        return Score(problem.id, completion.sample_index, Verdict.INFRA_ERROR, None, detail)


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


def journal_fingerprint(model: ModelSpec, plan: TaskPlan) -> dict[str, Any]:
    return {"run_id": plan.run_id, "protocol_hash": plan.protocol["hash"], "model": model_identity(model)}


def save_model_info(path: Path, info: ModelInfo) -> None:
    from harness.atomic import write_text_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(asdict(info), indent=2, default=str))


def load_model_info(path: Path) -> ModelInfo | None:
    if not path.is_file():
        return None
    try:
        return ModelInfo(**json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError):
        return None
