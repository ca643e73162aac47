"""The metadata a task sets on its problems (year, difficulty, contest date...), found again for a score file.

A score file records which problems were used (their ids and a hash of their content), not the task's
metadata about them. Reports that group problems (`harness show --plot`) load the task's problems again,
from the file the run used or the task's own source, and use their metadata only when the problems are
the very ones the score file was produced on (same content hash), so a figure never groups one run's
results by another dataset's labels.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.data import DataError, content_hash, load_problems
from harness.results import ScoreFile


@dataclass(frozen=True)
class ProblemMeta:
    """Metadata by problem id, or why there is none (`reason`)."""

    by_problem: Mapping[str, Mapping[str, Any]]
    reason: str | None = None


def load_problem_meta(record: ScoreFile, data: Path | None = None) -> ProblemMeta:
    """The task's metadata for the problems of `record`, from `data` or the task's default source.

    Never raises for a missing task or source: a report without groups is still a report.
    """
    from harness.registry import discover  # imports the task plugins; only reports that group need it

    name = str(record.task["name"])
    registry = discover()
    entry = registry.tasks.get(name)
    if entry is None:
        return ProblemMeta({}, f"task {name!r} is not installed here")
    if str(entry.spec.version) != str(record.task["version"]):
        return ProblemMeta(
            {},
            f"task {name} here is version {entry.spec.version}, the score file's is {record.task['version']}",
        )
    try:
        loaded = load_problems(entry.spec, data, options=record.protocol["data"].get("options") or {})
    except (DataError, OSError) as err:
        return ProblemMeta({}, f"cannot load the problems of {name}: {err}")
    except Exception as err:  # the hub client raises its own errors when offline
        return ProblemMeta({}, f"cannot load the problems of {name}: {type(err).__name__}: {err}")
    wanted = list(record.metrics.get("per_problem") or {})
    by_id = {problem.id: problem for problem in loaded.problems}
    missing = [pid for pid in wanted if pid not in by_id]
    # A run with --limit used the first problems; the hash of those, in order, must be the recorded one.
    used = [by_id[pid] for pid in wanted if pid in by_id]
    if missing or content_hash(used) != record.protocol["data"]["content_hash"]:
        return ProblemMeta(
            {}, f"the problems loaded for {name} are not the ones this score file was produced on"
        )
    return ProblemMeta({problem.id: dict(problem.meta) for problem in used})
