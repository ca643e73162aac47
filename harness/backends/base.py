"""The one small interface every engine implements."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from harness.types import Completion, ModelInfo, Request


class BackendError(RuntimeError):
    """A problem with the model or engine that a person must fix (bad path, missing package, ...)."""


class BackendSettingError(BackendError):
    """A model setting of the config that cannot work on this machine (say, device: cuda without CUDA),
    found before any weights are loaded. The command line treats it as a config error (exit 2)."""


class Backend(Protocol):
    """An engine that turns requests into completions.

    `generate` receives the whole list of requests, so the backend is free to sort, batch, and run
    concurrently. It yields exactly one Completion per Request, in any order, as soon as each is done;
    the pipeline journals every completion as it arrives, so a crash loses only the samples in flight.
    """

    def info(self) -> ModelInfo: ...

    def generate(self, requests: Sequence[Request]) -> Iterator[Completion]: ...

    def close(self) -> None: ...
