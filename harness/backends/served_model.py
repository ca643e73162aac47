"""The model a server says produced each answer: checked against the requested one, and recorded.

A server behind a load balancer, a proxy that rewrites names, or a restart with another model can answer
with a different model than the one listed at start-up; scores from it would be filed under the wrong
name. Every answer's `model` field is therefore compared with `model.path`, and a different model stops
the run unless `model.options.allow_model_mismatch` is true.

Servers spell the same model in a few ways, so these count as the same name:
- a path or organisation prefix on either side: `Qwen2.5-7B-Instruct`, `Qwen/Qwen2.5-7B-Instruct` and
  `/models/Qwen/Qwen2.5-7B-Instruct` name one model (vLLM and TGI answer with the path or hub id they
  loaded; llama.cpp's server with its GGUF file path). The shorter name's path components must end the
  longer one's, so `a/x` and `b/x` (two organisations' models of the same name) differ;
- Ollama's default tag: `llama3` and `llama3:latest`.
Anything else (another size, quantization, date suffix or model) is a mismatch. The exact name the server
gave is what the score file records, so an accepted variant stays visible.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from harness.backends.base import BackendError

_LATEST = ":latest"


def same_model(requested: str, served: str) -> bool:
    """Whether `served` is `requested` written another way (see the module docstring)."""
    wanted, got = _components(requested), _components(served)
    if not wanted or not got:
        return False
    shorter, longer = sorted((wanted, got), key=len)
    return longer[len(longer) - len(shorter) :] == shorter


def _components(name: str) -> list[str]:
    name = name.strip().removesuffix(_LATEST)
    return [part for part in re.split(r"[/\\]", name) if part]


class ServedModels:
    """The model names a server's answers gave, in order of first appearance; thread-safe."""

    def __init__(self, requested: str, allow_mismatch: bool):
        self.requested = requested
        self.allow_mismatch = allow_mismatch
        self._lock = threading.Lock()
        self._names: list[str] = []

    def check(self, payload: Any, url: str) -> None:
        """Record the name in an answer's `model` field; raise BackendError for another model.

        An answer without the field is accepted (nothing to check against) and recorded as nothing.
        """
        name = payload.get("model") if isinstance(payload, dict) else None
        if name is None:
            return
        name = str(name)
        with self._lock:
            if name not in self._names:
                self._names.append(name)
        if not self.allow_mismatch and not same_model(self.requested, name):
            raise BackendError(
                f"{url} answered with model {name!r}, but model.path requests {self.requested!r}. "
                "What to do: point model.options.base_url at a server that serves the requested model, "
                "or, if this is the model you mean to evaluate, set model.options.allow_model_mismatch: "
                "true (the score file then records both names)."
            )

    def recorded(self) -> str | list[str] | None:
        """For the score file: the one name the answers gave, all of them if several, None if none."""
        with self._lock:
            if not self._names:
                return None
            return self._names[0] if len(self._names) == 1 else list(self._names)
