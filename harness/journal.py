"""Append-only per-sample journal: every finished completion is on disk before the next one starts.

Layout: one JSON object per line. Line 1 is a header carrying the run's fingerprint (protocol hash,
model identity, run id); every later line is one Completion. A crash can only tear the line being
written, so a broken *last* line is dropped (that sample is simply generated again) while a broken
line anywhere else means someone edited the file, which is reported instead of guessed around.
Where a run's journals live, and the files beside them, is the run store's business (run_store.py).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from harness.atomic import naming
from harness.types import Completion, SampleKey

JOURNAL_FORMAT = "harness-journal"
JOURNAL_VERSION = 1
_COMPLETION_FIELDS = (
    "task",
    "problem_id",
    "sample_index",
    "text",
    "output_tokens",
    "finish_reason",
    "seconds",
    "reasoning",
)


class JournalError(RuntimeError):
    """A journal that cannot be used for this run as it stands."""


def _normalized(fingerprint: Mapping[str, Any]) -> dict[str, Any]:
    # Compare fingerprints as they look after a JSON round trip (tuples become lists, ...).
    normalized: dict[str, Any] = json.loads(json.dumps(fingerprint, sort_keys=True, default=str))
    return normalized


def _differing_keys(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    return sorted(key for key in set(a) | set(b) if a.get(key) != b.get(key))


def completion_to_json(completion: Completion) -> str:
    return json.dumps(
        {name: getattr(completion, name) for name in _COMPLETION_FIELDS}, ensure_ascii=False, allow_nan=False
    )


def _completion_from(data: Any) -> Completion:
    if not isinstance(data, dict) or set(data) != set(_COMPLETION_FIELDS):
        raise ValueError(f"expected an object with the fields {', '.join(_COMPLETION_FIELDS)}")
    if data["finish_reason"] not in ("stop", "length", "prompt_too_long"):
        raise ValueError(f"finish_reason {data['finish_reason']!r} is not stop, length or prompt_too_long")
    if not isinstance(data["sample_index"], int) or not isinstance(data["output_tokens"], int):
        raise ValueError("sample_index and output_tokens must be integers")
    return Completion(**data)


@dataclass(frozen=True)
class JournalContent:
    """What a journal file holds: its fingerprint, its samples, and where the good part ends."""

    fingerprint: dict[str, Any] | None  # None for a missing or empty file
    completions: dict[SampleKey, Completion]
    good_size: int  # bytes up to the end of the last complete line
    torn: bool  # the last line was cut off (or garbled) and is not counted
    duplicates: int  # repeated sample keys; the first one is kept


def read_journal(path: Path) -> JournalContent:
    """Parse a journal without changing it (used by Journal.load and merge_journals)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return JournalContent(None, {}, 0, False, 0)
    except OSError as err:
        raise JournalError(f"cannot read journal {path}: {err}") from err
    lines = data.split(b"\n")
    # The piece after the last newline is a torn write if non-empty; a complete file ends in "\n".
    complete, tail = lines[:-1], lines[-1]
    torn = bool(tail)
    parsed: list[Any] = []
    good_size = 0
    for number, raw in enumerate(complete, start=1):
        try:
            parsed.append(json.loads(raw))
        except ValueError as err:
            if number < len(complete):
                raise JournalError(
                    f"journal {path}, line {number}: not valid JSON ({err}); the file was "
                    "edited or damaged: repair or delete that line, or delete the journal "
                    "to start the run over"
                ) from err
            torn = True  # a garbled last line is what a crash during write can leave behind
            break
        good_size += len(raw) + 1
    if not parsed:
        return JournalContent(None, {}, 0, torn, 0)
    fingerprint = _header_fingerprint(path, parsed[0])
    completions: dict[SampleKey, Completion] = {}
    duplicates = 0
    for number, item in enumerate(parsed[1:], start=2):
        try:
            completion = _completion_from(item)
        except (TypeError, ValueError) as err:
            raise JournalError(f"journal {path}, line {number}: not a completion ({err})") from err
        if completion.key in completions:
            duplicates += 1
            continue
        completions[completion.key] = completion
    return JournalContent(fingerprint, completions, good_size, torn, duplicates)


def _header_fingerprint(path: Path, header: Any) -> dict[str, Any]:
    if not (
        isinstance(header, dict)
        and header.get("format") == JOURNAL_FORMAT
        and isinstance(header.get("fingerprint"), dict)
    ):
        raise JournalError(f"journal {path}, line 1: not a journal header; is this file a journal?")
    if header.get("version") != JOURNAL_VERSION:
        raise JournalError(
            f"journal {path} has version {header.get('version')!r}; this harness writes "
            f"version {JOURNAL_VERSION}: finish it with a matching harness version"
        )
    fingerprint: dict[str, Any] = header["fingerprint"]
    return fingerprint


class Journal:
    """The journal of one run: `load()` what is done, then `append()` each new completion.

    The file is opened per append rather than held open: the cost is small next to the fsync, and
    no handle is left behind when a caller forgets to close it.
    """

    def __init__(self, path: Path, fingerprint: Mapping[str, Any]) -> None:
        self.path = Path(path)
        self.fingerprint = _normalized(fingerprint)
        self._checked = False  # header verified and torn tail removed; appends may go ahead
        self.dropped_torn_line = False  # set by load(): the last sample had been cut off by a crash
        self.duplicates = 0

    def load(self) -> dict[SampleKey, Completion]:
        """Finished samples. Truncates a torn last line so the next append starts on a clean line."""
        content = read_journal(self.path)
        if content.fingerprint is not None and content.fingerprint != self.fingerprint:
            differing = _differing_keys(content.fingerprint, self.fingerprint)
            raise JournalError(
                f"journal {self.path} belongs to a different run (differs in: {', '.join(differing)}); "
                "it is not reused. The journal path is derived from the run id, so this means the "
                "file was edited or copied: delete or move it to start this run afresh"
            )
        self.dropped_torn_line = content.torn
        self.duplicates = content.duplicates
        if content.torn:
            with open(self.path, "r+b") as handle:
                handle.truncate(content.good_size)
                os.fsync(handle.fileno())
        self._checked = True
        return content.completions

    def append(self, completion: Completion) -> None:
        """Write one completion and make it durable before returning."""
        if not self._checked:
            self.load()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with naming(self.path), open(self.path, "ab") as handle:
            if handle.tell() == 0:
                header = {
                    "format": JOURNAL_FORMAT,
                    "version": JOURNAL_VERSION,
                    "fingerprint": self.fingerprint,
                }
                _write_line(handle, json.dumps(header, sort_keys=True, ensure_ascii=False))
            _write_line(handle, completion_to_json(completion))


def _write_line(handle: IO[bytes], line: str) -> None:
    # One write call per line, so a crash can only cut the line being written; fsync makes it durable.
    handle.write((line + "\n").encode("utf-8"))
    handle.flush()
    os.fsync(handle.fileno())


def merge_journals(paths: Iterable[Path]) -> dict[SampleKey, Completion]:
    """Samples of several journals of one run (its shards). All headers must agree; first key wins."""
    merged: dict[SampleKey, Completion] = {}
    reference: tuple[Path, dict[str, Any]] | None = None
    for path in paths:
        content = read_journal(Path(path))
        if content.fingerprint is None:
            continue  # a shard that had not written anything yet
        if reference is None:
            reference = (Path(path), content.fingerprint)
        elif content.fingerprint != reference[1]:
            differing = _differing_keys(reference[1], content.fingerprint)
            raise JournalError(
                f"journals {reference[0]} and {path} belong to different runs (differ in: "
                f"{', '.join(differing)}); merge only the shards of one run"
            )
        for key, completion in content.completions.items():
            merged.setdefault(key, completion)
    return merged
