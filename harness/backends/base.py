"""The one small interface every engine implements, and defaults for its optional parts."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from harness.types import Completion, ModelInfo, Request

# Called with the number of tokens produced so far by the work in flight (a batch, say), so a progress bar
# can move before a whole completion is done.
TokenProgress = Callable[[int], None]


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

    `on_tokens` is set by the pipeline while `generate` runs (None otherwise); a backend that knows the
    tokens of unfinished work calls it, one that does not simply ignores it. `expect_requests` receives
    every request of the run (all tasks, all shards) before anything is generated, so a backend that can
    tell whether it fits the run (the replay backend: does its file hold completions nobody asks for?)
    says so before any work. `BackendBase` gives both their defaults.
    """

    on_tokens: TokenProgress | None

    def info(self) -> ModelInfo: ...

    def expect_requests(self, requests: Sequence[Request]) -> None: ...

    def generate(self, requests: Sequence[Request]) -> Iterator[Completion]: ...

    def close(self) -> None: ...


class BackendBase:
    """Defaults for the optional parts of `Backend`: no token progress, no check of the run's requests,
    nothing to release. Engines (built-in or plugins) subclass it and write `info` and `generate`."""

    on_tokens: TokenProgress | None = None

    def expect_requests(self, requests: Sequence[Request]) -> None:
        return None

    def close(self) -> None:
        return None


# What the registry checks on a freshly built backend, so a plugin missing a part fails with its name
# before the run starts, not with an AttributeError in the middle of it.
BACKEND_MEMBERS = ("on_tokens", "info", "expect_requests", "generate", "close")
