"""Planning: from a config to what each task will ask the engine, before any model is loaded.

For every task entry of a config: the TaskSpec, its problems, the resolved sampling settings, the
protocol block and its hash, the run id, and the requests (problem x sample, each with its own seed).
A bad task entry fails here, before anything expensive starts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.config import GENERATION_DEFAULTS, ConfigError, EvalConfig, TaskRequest
from harness.data import LoadedProblems, load_problems
from harness.protocol import build_protocol, sample_seed
from harness.registry import TaskRegistry
from harness.types import ChatMessage, ModelSpec, Problem, Request, Sampling, TaskSpec


@dataclass(frozen=True)
class TaskPlan:
    """One task entry of a config, ready to run: what to ask, under which protocol, and the run id."""

    spec: TaskSpec
    request_entry: TaskRequest
    loaded: LoadedProblems
    sampling: Sampling
    requests: tuple[Request, ...]
    protocol: Mapping[str, Any]
    run_id: str


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


def journal_fingerprint(model: ModelSpec, plan: TaskPlan) -> dict[str, Any]:
    return {"run_id": plan.run_id, "protocol_hash": plan.protocol["hash"], "model": model_identity(model)}
