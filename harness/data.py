"""Dataset loading: the Hugging Face hub (pinned revision), a bundled file, or a local JSONL/Parquet file.

Returns the problems a run uses together with where they came from and a hash of their content, so two score
files can say whether they were graded on the same problems.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.types import DatasetSource, Problem, TaskSpec


class DataError(ValueError):
    """Problems could not be loaded. The message names the task, the source and the row."""


@dataclass(frozen=True)
class LoadedProblems:
    problems: tuple[Problem, ...]
    source: Mapping[str, Any]  # kind (hub/local/bundled), id or file name, revision, split
    content_hash: str  # sha256 of the ids, prompts, answers and tests actually used


def load_problems(
    spec: TaskSpec,
    data: Path | None = None,
    limit: int | None = None,
    options: Mapping[str, Any] | None = None,
) -> LoadedProblems:
    """Load, convert, select and limit a task's problems."""
    rows, source = _read_rows(spec, data)
    problems = _to_problems(spec, rows, source)
    if spec.select is not None:
        try:
            problems = list(spec.select(problems, {**spec.options, **(options or {})}))
        except Exception as err:  # plugin code: whatever it raises becomes a message, not a traceback
            raise DataError(
                f"task {spec.name}: selecting problems failed: {type(err).__name__}: {err}"
            ) from None
    if limit is not None:
        problems = problems[:limit]
    if not problems:
        raise DataError(f"task {spec.name}: no problems left to evaluate from {_describe(source)}")
    return LoadedProblems(tuple(problems), source, content_hash(problems))


def content_hash(problems: Sequence[Problem]) -> str:
    digest = hashlib.sha256()
    for problem in problems:
        item = [problem.id, problem.prompt, problem.answer, list(problem.tests or [])]
        digest.update(json.dumps(item, sort_keys=True, ensure_ascii=False, default=str).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def _read_rows(spec: TaskSpec, data: Path | None) -> tuple[list[Mapping[str, Any]], dict[str, Any]]:
    if data is not None:
        return read_local_file(data, spec.name), {
            "kind": "local",
            "file": data.name,
            "file_sha256": _file_sha256(data),
        }
    src = spec.source
    path = src.bundled_path
    if path is not None:
        return read_local_file(path, spec.name), {
            "kind": "bundled",
            "file": path.name,
            "file_sha256": _file_sha256(path),
        }
    if src.hub_id is None:
        raise DataError(f"task {spec.name}: has no default data source; set `data:` to a local file")
    return _read_hub(spec.name, src), {
        "kind": "hub",
        "hub_id": src.hub_id,
        "config": src.config,
        "split": src.split,
        "revision": src.revision or "main",
        "data_files": src.data_files,
    }


def read_local_file(path: Path, task: str) -> list[Mapping[str, Any]]:
    """Rows of a .jsonl/.json or .parquet file, with errors that say file:line."""
    if not path.is_file():
        raise DataError(f"task {task}: data file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json"):
        return list(_read_jsonl(path, task))
    if suffix == ".parquet":
        import datasets  # heavy; only for Parquet

        try:
            return list(datasets.load_dataset("parquet", data_files=str(path), split="train"))
        except Exception as err:  # pyarrow and datasets raise many kinds; all mean "not a readable file"
            raise DataError(
                f"task {task}: data file {path}: not a readable Parquet file ({type(err).__name__}: "
                f"{str(err)[:300]})"
            ) from None
    raise DataError(f"task {task}: data file {path}: expected .jsonl, .json or .parquet")


def decode_utf8(raw: bytes, path: Path) -> str:
    """The file's text; a byte that is not UTF-8 raises ValueError naming the line and column (never
    replaced: the text would no longer be what the file says)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        column = err.start - (raw.rfind(b"\n", 0, err.start) + 1) + 1
        problem = f"{path}:{line}: not UTF-8 (byte 0x{raw[err.start]:02x} at column {column})"
    raise ValueError(problem)


def _read_text(path: Path, task: str) -> str:
    try:
        return decode_utf8(path.read_bytes(), path)
    except ValueError as err:
        raise DataError(f"task {task}: {err}; save the file as UTF-8") from None


def _read_jsonl(path: Path, task: str) -> Iterator[Mapping[str, Any]]:
    text = _read_text(path, task)
    if path.suffix.lower() == ".json" and text.lstrip().startswith("["):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as err:
            raise DataError(f"task {task}: {path}: not valid JSON: {err}") from None
        for number, row in enumerate(rows, start=1):
            if not isinstance(row, dict):
                raise DataError(
                    f"task {task}: {path}: row {number} of the JSON array is {type(row).__name__}, "
                    "expected a JSON object (one per problem)"
                )
            yield row
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(f"task {task}: {path}:{number}: not valid JSON: {err}") from None
        if not isinstance(row, dict):
            raise DataError(f"task {task}: {path}:{number}: expected a JSON object per line")
        yield row


def _read_hub(task: str, src: DatasetSource) -> list[Mapping[str, Any]]:
    import datasets  # heavy; only when the hub is used

    try:
        if src.data_files is not None:
            dataset = datasets.load_dataset(
                src.hub_id, data_files=src.data_files, split=src.split, revision=src.revision
            )
        else:
            dataset = datasets.load_dataset(src.hub_id, src.config, split=src.split, revision=src.revision)
    except Exception as err:
        raise DataError(
            f"task {task}: could not load {src.hub_id} (split {src.split}) from the Hugging Face hub: "
            f"{type(err).__name__}: {str(err)[:300]}. If this machine is offline, set `data:` for this task "
            "to a local JSONL or Parquet file."
        ) from None
    return list(dataset)


def _to_problems(
    spec: TaskSpec, rows: Sequence[Mapping[str, Any]], source: Mapping[str, Any]
) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for index, row in enumerate(rows):
        # `index` counts from 0 because it is what to_problem receives (some tasks build ids from it);
        # people read row numbers that count from 1, as editors count lines.
        where = f"task {spec.name}: {_describe(source)} row {index + 1}"
        try:
            problem = spec.to_problem(row, index)
        except KeyError as err:
            raise DataError(
                f"{where}: missing field {err}; fields present: {', '.join(sorted(row))}"
            ) from None
        except (TypeError, ValueError) as err:
            raise DataError(f"{where}: {err}") from None
        except Exception as err:  # a bug in the task's to_problem: name it instead of a traceback
            raise DataError(f"{where}: the task's to_problem failed: {type(err).__name__}: {err}") from None
        if not isinstance(problem, Problem) or not isinstance(problem.id, str):
            got = (
                type(problem).__name__ if not isinstance(problem, Problem) else "a Problem with a non-text id"
            )
            raise DataError(
                f"{where}: the task's to_problem returned {got}, expected a harness.types.Problem"
            )
        if problem.id in seen:
            raise DataError(
                f"task {spec.name}: {_describe(source)}: problem id {problem.id!r} appears in rows "
                f"{seen[problem.id] + 1} and {index + 1}"
            )
        seen[problem.id] = index
        problems.append(problem)
    return problems


def _describe(source: Mapping[str, Any]) -> str:
    return str(source.get("file") or source.get("hub_id"))


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
