"""Replays stored completions from a JSONL file, so scoring and the pipeline run without a model.

Each line: {"task", "problem_id", "sample_index", "text"} plus optional "output_tokens" (default 0),
"finish_reason" ("stop" or "length", default "stop"), "reasoning" and "seconds". Other fields are
ignored, so a run's journal can be replayed. The whole file is read and checked when the backend is
built, so a bad line stops the run before anything is generated.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.backends.base import BackendError
from harness.types import Completion, FinishReason, ModelInfo, ModelSpec, Request, SampleKey

_REQUIRED = {"task": str, "problem_id": str, "sample_index": int, "text": str}
_SHOWN_MISSING = 5


class ReplayBackend:
    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.path = Path(spec.path).expanduser()
        if not self.path.is_file():
            raise BackendError(
                f"model {spec.name!r}: replay file {self.path} does not exist; point model.path at a "
                "JSONL file of completions (task, problem_id, sample_index, text)"
            )
        raw = self.path.read_bytes()
        self.fingerprint = "sha256:" + hashlib.sha256(raw).hexdigest()[:16]
        self.completions: dict[SampleKey, Completion] = {}
        self.token_counts_known = True
        self._parse(raw.decode("utf-8", errors="replace"))

    def _parse(self, content: str) -> None:
        first_line: dict[SampleKey, int] = {}
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
            completion = _completion_from_row(row, where)
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
    if reason not in ("stop", "length"):
        raise BackendError(f"{where}: finish_reason must be 'stop' or 'length', got {reason!r}")
    reasoning = row.get("reasoning")
    if reasoning is not None and not isinstance(reasoning, str):
        raise BackendError(f"{where}: reasoning must be a string or null, got {type(reasoning).__name__}")
    seconds = row.get("seconds", 0.0)
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
        raise BackendError(f"{where}: seconds must be a non-negative number, got {seconds!r}")
    finish: FinishReason = "stop" if reason == "stop" else "length"
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
