"""Eval config files (YAML) -> validated EvalConfig.

Every error names the file and the field (e.g. `configs/x.yaml: tasks[1].limit: ...`) so a person can fix it
without reading code. Validation happens before anything is loaded or written.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.cost.settings import CostSettings, CostSettingsError, parse_cost_settings
from harness.types import ModelSpec

GENERATION_DEFAULTS: Mapping[str, Any] = {
    "temperature": 0.0,
    "top_p": 1.0,
    "top_k": 0,
    "max_new_tokens": 1024,
    "n": 1,
    "seed": 1234,
    "stop": [],
}
TASK_ENTRY_KEYS = {"name", "data", "limit", "system_prompt", "prompt_template", *GENERATION_DEFAULTS}
MODEL_KEYS = {"name", "backend", "path", "dtype", "device", "batch_size", "revision", "options"}
TOP_KEYS = {"model", "generation", "tasks", "output", "task_paths", "cost"}
DTYPES = ("auto", "float32", "bfloat16", "float16")


class ConfigError(ValueError):
    """A config that cannot be run. The message says which file and field, and what is wrong."""


@dataclass(frozen=True)
class TaskRequest:
    """One entry of the config's `tasks:` list."""

    name: str
    data: Path | None = None  # local JSONL/Parquet file instead of the task's default source
    limit: int | None = None  # first N problems (after the task's own selection)
    generation: Mapping[str, Any] = field(default_factory=dict)  # overrides of the generation block
    system_prompt: str | None = None
    prompt_template: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)  # task-specific (validated by the registry)
    field_path: str = "tasks"  # where this entry sits in the file, for error messages


@dataclass(frozen=True)
class EvalConfig:
    source: str  # the config file, for error messages
    model: ModelSpec
    generation: Mapping[str, Any]  # only the keys the file set; the pipeline layers them over task defaults
    tasks: tuple[TaskRequest, ...]
    output: Path
    task_paths: tuple[Path, ...] = ()
    cost: CostSettings = field(default_factory=CostSettings)  # prices, power figures (cost/settings.py)


def load_config(
    path: Path | str, overrides: Sequence[str] = (), limit: int | None = None, output: Path | None = None
) -> EvalConfig:
    """Read, override and validate a config file."""
    path = Path(path)  # library callers pass strings
    where = str(path)
    if not path.is_file():
        raise ConfigError(f"{where}: config file not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ConfigError(f"{where}: not valid YAML: {err}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping with model, generation, tasks, output at the top")
    for item in overrides:
        apply_override(raw, item, where)
    config = parse_config(raw, where)
    if limit is not None:
        if limit < 1:
            raise ConfigError(f"--limit: expected a positive integer, got {limit}")
        tasks = tuple(_with_limit(t, limit) for t in config.tasks)
        config = EvalConfig(
            config.source, config.model, config.generation, tasks, config.output, config.task_paths
        )
    if output is not None:
        config = EvalConfig(
            config.source, config.model, config.generation, config.tasks, output, config.task_paths
        )
    return config


def _with_limit(task: TaskRequest, limit: int) -> TaskRequest:
    effective = limit if task.limit is None else min(limit, task.limit)
    return TaskRequest(
        task.name,
        task.data,
        effective,
        task.generation,
        task.system_prompt,
        task.prompt_template,
        task.options,
        task.field_path,
    )


def apply_override(raw: dict[str, Any], item: str, where: str) -> None:
    """Apply one `--set a.b.c=value` (value parsed as YAML; list items by index, e.g. tasks.0.limit=5)."""
    key_path, sep, text = item.partition("=")
    if not sep or not key_path:
        raise ConfigError(f"--set {item!r}: expected key.path=value")
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"--set {item!r}: value is not valid YAML: {err}") from None
    parts = key_path.split(".")
    node: Any = raw
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ConfigError(f"--set {key_path}: {part!r} is not an index of a list of {len(node)}")
            index = int(part)
            if last:
                node[index] = value
            else:
                if isinstance(node[index], str):  # a task given by name becomes a mapping to override
                    node[index] = {"name": node[index]}
                node = node[index]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
        else:
            raise ConfigError(f"--set {key_path}: {'.'.join(parts[:depth])} is not a mapping or list")


def parse_config(raw: Mapping[str, Any], where: str) -> EvalConfig:
    _reject_unknown(raw, TOP_KEYS, where, "")
    for key in ("model", "tasks"):
        if key not in raw:
            raise ConfigError(f"{where}: {key}: missing (every config names a model and its tasks)")
    model = _parse_model(raw["model"], where)
    generation = _parse_generation(raw.get("generation") or {}, where, "generation")
    tasks_raw = raw["tasks"]
    if not isinstance(tasks_raw, list) or not tasks_raw:
        raise ConfigError(f"{where}: tasks: expected a non-empty list of task names or mappings")
    tasks = tuple(_parse_task(entry, where, f"tasks[{i}]") for i, entry in enumerate(tasks_raw))
    output = _expect(raw.get("output", "results"), str, where, "output")
    task_paths = raw.get("task_paths") or []
    if not isinstance(task_paths, list) or not all(isinstance(p, str) for p in task_paths):
        raise ConfigError(f"{where}: task_paths: expected a list of folder paths")
    try:
        cost = parse_cost_settings(raw.get("cost"), where)
    except CostSettingsError as err:
        raise ConfigError(str(err)) from None
    return EvalConfig(where, model, generation, tasks, Path(output), tuple(Path(p) for p in task_paths), cost)


def _parse_model(raw: Any, where: str) -> ModelSpec:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: model: expected a mapping with name, backend and path")
    _reject_unknown(raw, MODEL_KEYS, where, "model.")
    from harness.backends.registry import backend_names  # reads metadata; no engine is imported

    for key in ("name", "backend", "path"):
        if key not in raw:
            raise ConfigError(f"{where}: model.{key}: missing")
    backend = _expect(raw["backend"], str, where, "model.backend")
    known = backend_names()
    if backend not in known:
        raise ConfigError(
            f"{where}: model.backend: unknown backend {backend!r}; known backends: {', '.join(known)}"
        )
    dtype = _expect(raw.get("dtype", "auto"), str, where, "model.dtype")
    if dtype not in DTYPES:
        raise ConfigError(f"{where}: model.dtype: {dtype!r} is not one of {', '.join(DTYPES)}")
    batch_size = raw.get("batch_size", "auto")
    if batch_size != "auto" and (
        not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1
    ):
        raise ConfigError(
            f"{where}: model.batch_size: expected a positive integer or 'auto', got {batch_size!r}"
        )
    options = raw.get("options") or {}
    if not isinstance(options, dict):
        raise ConfigError(f"{where}: model.options: expected a mapping")
    _reject_non_finite(options, where, "model.options")
    revision = raw.get("revision")
    return ModelSpec(
        name=_expect(raw["name"], str, where, "model.name"),
        backend=backend,
        path=str(_expect(raw["path"], str, where, "model.path")),
        dtype=dtype,
        device=_expect(raw.get("device", "auto"), str, where, "model.device"),
        batch_size=batch_size,
        revision=None if revision is None else str(revision),
        options=options,
    )


def _parse_generation(raw: Any, where: str, field_path: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: {field_path}: expected a mapping")
    _reject_unknown(raw, set(GENERATION_DEFAULTS), where, f"{field_path}.")
    return {
        key: _check_generation_value(key, value, where, f"{field_path}.{key}") for key, value in raw.items()
    }


def _check_generation_value(key: str, value: Any, where: str, field_path: str) -> Any:
    if key in ("temperature", "top_p"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: {field_path}: expected a number, got {value!r}")
        allowed = "a finite number ≥ 0" if key == "temperature" else "a number in (0, 1]"
        # NaN compares false with everything, so finiteness is checked first and explicitly.
        in_range = math.isfinite(value) and (value >= 0 if key == "temperature" else 0 < value <= 1)
        if not in_range:
            raise ConfigError(f"{where}: {field_path}: {value} is out of range; expected {allowed}")
        return float(value)
    if key == "stop":
        stops = [value] if isinstance(value, str) else value
        if not isinstance(stops, list) or not all(isinstance(s, str) and s for s in stops):
            raise ConfigError(f"{where}: {field_path}: expected a string or a list of non-empty strings")
        return list(stops)
    lowest = 0 if key in ("top_k", "seed") else 1
    if isinstance(value, bool) or not isinstance(value, int) or value < lowest:
        raise ConfigError(f"{where}: {field_path}: expected an integer ≥ {lowest}, got {value!r}")
    return value


def _parse_task(entry: Any, where: str, field_path: str) -> TaskRequest:
    if isinstance(entry, str):
        return TaskRequest(name=entry, field_path=field_path)
    if not isinstance(entry, dict) or "name" not in entry:
        raise ConfigError(f"{where}: {field_path}: expected a task name or a mapping with a name")
    name = _expect(entry["name"], str, where, f"{field_path}.name")
    generation_keys = set(GENERATION_DEFAULTS)
    generation = _parse_generation(
        {k: v for k, v in entry.items() if k in generation_keys}, where, field_path
    )
    limit = entry.get("limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ConfigError(f"{where}: {field_path}.limit: expected a positive integer, got {limit!r}")
    data = entry.get("data")
    if data is not None:
        data = Path(_expect(data, str, where, f"{field_path}.data"))
    texts = {
        key: _expect(entry[key], str, where, f"{field_path}.{key}")
        for key in ("system_prompt", "prompt_template")
        if entry.get(key) is not None
    }
    if "prompt_template" in texts and "{problem}" not in texts["prompt_template"]:
        raise ConfigError(f"{where}: {field_path}.prompt_template: must contain {{problem}}")
    options = {k: v for k, v in entry.items() if k not in TASK_ENTRY_KEYS}
    _reject_non_finite(options, where, field_path)
    return TaskRequest(
        name,
        data,
        limit,
        generation,
        texts.get("system_prompt"),
        texts.get("prompt_template"),
        options,
        field_path,
    )


def _reject_non_finite(value: Any, where: str, field_path: str) -> None:
    """Backend options are checked by their backend once it is built; a NaN or infinity is wrong for every
    one of them, and is caught here, before any model is loaded."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{where}: {field_path}: {value} is not a finite number")
    if isinstance(value, Mapping):
        for key, item in value.items():
            _reject_non_finite(item, where, f"{field_path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _reject_non_finite(item, where, f"{field_path}[{index}]")


def _reject_unknown(raw: Mapping[str, Any], allowed: set[str], where: str, prefix: str) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ConfigError(
            f"{where}: {prefix}{unknown[0]}: unknown key; allowed here: {', '.join(sorted(allowed))}"
        )


def _expect(value: Any, kind: type, where: str, field_path: str) -> Any:
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ConfigError(f"{where}: {field_path}: expected {kind.__name__}, got {value!r}")
    return value
