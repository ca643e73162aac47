"""Replays stored completions from a JSONL file, so scoring and the pipeline run without a model.

Three kinds of file are read as they are, so that rescoring a run with a newer grader is one command:
- lines of {"task", "problem_id", "sample_index", "text"} plus optional "output_tokens" (default 0),
  "finish_reason" ("stop" or "length", default "stop"), "reasoning" and "seconds"; other fields are
  ignored;
- this harness's `.samples.jsonl` (the completion is in "completion"; the task comes from the score
  file beside it);
- this harness's journal (`OUTPUT/.journal/*.jsonl`, a header line, then one completion per line).

The whole file is read and checked when the backend is built, so a bad line stops the run before
anything is generated. Completions the run does not ask for (other tasks, problems or sample indices)
are an error too, unless `options: {allow_extra: true}`; their number is then recorded in the score
file's model block.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.backends.base import BackendBase, BackendError
from harness.data import decode_utf8
from harness.journal import JOURNAL_FORMAT, JournalError, read_journal
from harness.types import Completion, FinishReason, ModelInfo, ModelSpec, Request, SampleKey

_REQUIRED = {"task": str, "problem_id": str, "sample_index": int, "text": str}
OPTIONS = frozenset({"allow_extra"})
_SHOWN_MISSING = 5


class ReplayBackend(BackendBase):
    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        unknown = sorted(set(spec.options) - OPTIONS)
        if unknown:
            raise BackendError(
                f"model.options.{unknown[0]}: not an option of the replay backend (known: allow_extra)"
            )
        self.allow_extra = spec.options.get("allow_extra", False)
        if not isinstance(self.allow_extra, bool):
            raise BackendError(f"model.options.allow_extra: expected true or false, got {self.allow_extra!r}")
        self.path = Path(spec.path).expanduser()
        if not self.path.is_file():
            raise BackendError(
                f"model {spec.name!r}: replay file {self.path} does not exist; point model.path at a "
                "JSONL file of completions (task, problem_id, sample_index, text), a .samples.jsonl or a "
                "journal"
            )
        raw = self.path.read_bytes()
        self.fingerprint = "sha256:" + hashlib.sha256(raw).hexdigest()[:16]
        self.completions: dict[SampleKey, Completion] = {}
        self.token_counts_known = True
        self.unused = 0  # completions in the file that the run does not ask for (see expect_requests)
        content = _decode(raw, self.path)
        if _is_journal(content):
            self._read_journal()
        else:
            self._parse(content)

    def _read_journal(self) -> None:
        try:
            journal = read_journal(self.path)
        except JournalError as error:
            raise BackendError(str(error)) from None
        self.completions = dict(journal.completions)

    def _parse(self, content: str) -> None:
        first_line: dict[SampleKey, int] = {}
        default_task = _task_beside(self.path)  # for the rows of a .samples.jsonl, which name no task
        for number, line in enumerate(content.splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{self.path}:{number}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise BackendError(
                    f"{where}: not valid JSON ({error.msg}); fix or remove the line"
                ) from error
            if not isinstance(row, dict):
                raise BackendError(f"{where}: expected a JSON object, got {type(row).__name__}")
            completion = _completion_from_row(_as_replay_row(row, default_task, where), where)
            if "output_tokens" not in row:
                self.token_counts_known = False
            if completion.key in first_line:
                raise BackendError(
                    f"{where}: duplicate completion for {_describe(completion.key)} "
                    f"(first at line {first_line[completion.key]}); keep one of them"
                )
            first_line[completion.key] = number
            self.completions[completion.key] = completion

    def info(self) -> ModelInfo:
        extra: dict[str, Any] = {"completions": len(self.completions)}
        if self.allow_extra:
            extra["unused_completions"] = self.unused
        if not self.token_counts_known:
            extra["output_tokens"] = "unknown: some lines have no output_tokens, counted as 0"
        return ModelInfo(
            name=self.spec.name,
            backend="replay",
            path=self.spec.path,
            revision=self.fingerprint,
            dtype="n/a",
            device="n/a",
            engine="replay",
            batch_size="n/a",
            chat_template_hash=None,
            extra=extra,
        )

    def expect_requests(self, requests: Sequence[Request]) -> None:
        """Called with every request of the run before anything is generated: completions the run
        does not ask for mean the file and the config do not match (another task, other problems, more
        samples), which is an error unless allow_extra is set."""
        wanted = {r.key for r in requests}
        extra = sorted(key for key in self.completions if key not in wanted)
        self.unused = len(extra)
        if extra and not self.allow_extra:
            tasks = sorted({r.task for r in requests})
            shown = ", ".join(_describe(key) for key in extra[:_SHOWN_MISSING])
            more = f" and {len(extra) - _SHOWN_MISSING} more" if len(extra) > _SHOWN_MISSING else ""
            raise BackendError(
                f"replay file {self.path} has {len(extra)} completion(s) this run does not ask for "
                f"(tasks {', '.join(tasks)}, their problems and n samples each): {shown}{more}. Check that "
                "the config's tasks, data, limit and n match the file, or set model.options.allow_extra: "
                "true to use only the requested ones (their number is recorded in the score file)"
            )

    def generate(self, requests: Sequence[Request]) -> Iterator[Completion]:
        missing = [r.key for r in requests if r.key not in self.completions]
        if missing:
            shown = ", ".join(_describe(key) for key in missing[:_SHOWN_MISSING])
            more = f" and {len(missing) - _SHOWN_MISSING} more" if len(missing) > _SHOWN_MISSING else ""
            raise BackendError(
                f"replay file {self.path} has no completion for {len(missing)} requested sample(s): "
                f"{shown}{more}; add them to the file or narrow the run (fewer problems or samples)"
            )
        for request in requests:
            yield self.completions[request.key]

    def close(self) -> None:
        self.completions = {}


def _decode(raw: bytes, path: Path) -> str:
    try:
        return decode_utf8(raw, path)
    except ValueError as err:
        raise BackendError(
            f"{err}; the file must be UTF-8, so that the graded text is what the model wrote"
        ) from None


def _is_journal(content: str) -> bool:
    try:
        header = json.loads(content.split("\n", 1)[0])
    except json.JSONDecodeError:
        return False
    return isinstance(header, dict) and header.get("format") == JOURNAL_FORMAT


def _task_beside(path: Path) -> str | None:
    """The task of the score file that a `<name>.samples.jsonl` belongs to (`<name>.json`), if any."""
    if not path.name.endswith(".samples.jsonl"):
        return None
    score_file = path.with_name(path.name.removesuffix(".samples.jsonl") + ".json")
    try:
        task = json.loads(score_file.read_text(encoding="utf-8"))["task"]["name"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return task if isinstance(task, str) else None


def _as_replay_row(row: dict[str, Any], default_task: str | None, where: str) -> dict[str, Any]:
    """A row of a .samples.jsonl (completion, no task) in the replay form (text, task)."""
    if "text" not in row and isinstance(row.get("completion"), str):
        row = {**row, "text": row["completion"]}
    if "task" not in row and "problem_id" in row:
        if default_task is None:
            raise BackendError(
                f"{where}: no 'task' field, and no score file beside this file to take it from; add "
                '"task" to each line, or keep the .samples.jsonl next to its score file'
            )
        row = {**row, "task": default_task}
    return row


def _completion_from_row(row: Mapping[str, Any], where: str) -> Completion:
    for name, kind in _REQUIRED.items():
        if name not in row:
            raise BackendError(f"{where}: missing field {name!r}; each line needs {', '.join(_REQUIRED)}")
        if not _is(row[name], kind):
            raise BackendError(
                f"{where}: field {name!r} must be {kind.__name__}, got {type(row[name]).__name__} "
                f"{row[name]!r}"
            )
    if row["sample_index"] < 0:
        raise BackendError(f"{where}: sample_index must be >= 0, got {row['sample_index']}")
    tokens = row.get("output_tokens", 0)
    if not _is(tokens, int) or tokens < 0:
        raise BackendError(f"{where}: output_tokens must be a non-negative integer, got {tokens!r}")
    reason = row.get("finish_reason", "stop")
    if reason not in ("stop", "length", "prompt_too_long"):  # the last: a sample this harness never generated
        raise BackendError(f"{where}: finish_reason must be 'stop' or 'length', got {reason!r}")
    reasoning = row.get("reasoning")
    if reasoning is not None and not isinstance(reasoning, str):
        raise BackendError(f"{where}: reasoning must be a string or null, got {type(reasoning).__name__}")
    seconds = row.get("seconds", 0.0)
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
        raise BackendError(f"{where}: seconds must be a non-negative number, got {seconds!r}")
    finish: FinishReason = (
        "stop" if reason == "stop" else "length" if reason == "length" else "prompt_too_long"
    )
    return Completion(
        task=row["task"],
        problem_id=row["problem_id"],
        sample_index=row["sample_index"],
        text=row["text"],
        output_tokens=tokens,
        finish_reason=finish,
        seconds=float(seconds),
        reasoning=reasoning,
    )


def _is(value: Any, kind: type) -> bool:
    # JSON true/false load as bool, which Python counts as int; a sample index of `true` is a mistake.
    return isinstance(value, kind) and not (kind is int and isinstance(value, bool))


def _describe(key: SampleKey) -> str:
    return f"({key.task}, {key.problem_id}, {key.sample_index})"
