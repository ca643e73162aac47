"""Task discovery: the `harness.tasks` entry-point group plus folders of task files.

A plugin exposes a TaskSpec, a list of them, or a zero-argument callable returning either. The built-in tasks
in tasks/ are registered through the same entry-point group, so they prove the plugin path. A plugin that
fails to load is recorded with its name and the reason; it never stops the other tasks from loading.
"""

from __future__ import annotations

import hashlib
import importlib.util
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from harness.types import TaskSpec

ENTRY_POINT_GROUP = "harness.tasks"


@dataclass(frozen=True)
class PluginFailure:
    plugin: str  # entry-point name or file path
    reason: str


@dataclass(frozen=True)
class RegisteredTask:
    spec: TaskSpec
    origin: str  # "entry point aime (tasks.aime:TASKS)" or a file path


@dataclass
class TaskRegistry:
    tasks: dict[str, RegisteredTask] = field(default_factory=dict)
    failures: list[PluginFailure] = field(default_factory=list)

    def get(self, name: str) -> TaskSpec:
        if name in self.tasks:
            return self.tasks[name].spec
        known = ", ".join(sorted(self.tasks)) or "none"
        hint = ""
        broken = [f for f in self.failures if name in f.plugin or repr(name) in f.reason]
        if broken:
            hint = f" (plugin {broken[0].plugin} failed to load: {broken[0].reason})"
        raise KeyError(f"unknown task {name!r}{hint}; known tasks: {known}")

    def _add(self, specs: Iterable[Any], origin: str, plugin: str) -> None:
        for spec in specs:
            if not isinstance(spec, TaskSpec):
                self.failures.append(PluginFailure(plugin, f"provides {type(spec).__name__}, not a TaskSpec"))
                continue
            if not isinstance(spec.prompt_template, str) or "{problem}" not in spec.prompt_template:
                # The same rule as for a template in a config: without the slot the model never sees the
                # problem, and every answer would be graded against a prompt that was not asked.
                self.failures.append(
                    PluginFailure(plugin, f"task {spec.name!r}: prompt_template must contain {{problem}}")
                )
                continue
            existing = self.tasks.get(spec.name)
            if existing is not None and existing.spec is not spec:
                self.failures.append(
                    PluginFailure(
                        plugin, f"task name {spec.name!r} is already provided by {existing.origin}; ignored"
                    )
                )
                continue
            self.tasks[spec.name] = RegisteredTask(spec, origin)


def discover(extra_paths: Sequence[Path] = ()) -> TaskRegistry:
    """Load every task plugin: installed entry points first, then each folder in extra_paths."""
    registry = TaskRegistry()
    for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name):
        origin = f"entry point {point.name} ({point.value})"
        try:
            loaded = point.load()
            registry._add(_as_specs(loaded), origin, point.name)
        except Exception as err:  # a broken plugin must not hide the others
            registry.failures.append(PluginFailure(point.name, _reason(err)))
    for folder in extra_paths:
        _load_folder(registry, folder)
    return registry


def _load_folder(registry: TaskRegistry, folder: Path) -> None:
    if not folder.is_dir():
        registry.failures.append(PluginFailure(str(folder), "task folder does not exist"))
        return
    for file in sorted(folder.glob("*.py")):
        if file.name.startswith("_"):
            continue
        try:
            module = _import_file(file)
            specs = getattr(module, "TASKS", None)
            if specs is None and hasattr(module, "TASK"):
                specs = [module.TASK]
            if specs is None:
                registry.failures.append(PluginFailure(str(file), "defines neither TASKS nor TASK"))
                continue
            registry._add(_as_specs(specs), str(file), str(file))
        except Exception as err:
            registry.failures.append(PluginFailure(str(file), _reason(err)))


def _import_file(file: Path) -> Any:
    # A unique module name per path, so two folders may both have a tasks.py.
    digest = hashlib.sha256(str(file.resolve()).encode()).hexdigest()[:12]
    module_spec = importlib.util.spec_from_file_location(f"harness_task_file_{digest}", file)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"cannot import {file}")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def _as_specs(loaded: Any) -> list[Any]:
    if callable(loaded) and not isinstance(loaded, TaskSpec):
        loaded = loaded()
    if isinstance(loaded, TaskSpec):
        return [loaded]
    if isinstance(loaded, (list, tuple)):
        return list(loaded)
    raise TypeError(f"expected a TaskSpec or a list of them, got {type(loaded).__name__}")


def _reason(err: BaseException) -> str:
    last = traceback.extract_tb(err.__traceback__)[-1:] if err.__traceback__ else []
    where = f" at {last[0].filename}:{last[0].lineno}" if last else ""
    return f"{type(err).__name__}: {err}{where}"
