"""An evaluation harness for locally hosted open models on math and code tasks.

The names below are the library API; everything else is reached through its module. Importing `harness`
stays cheap: `run`, `load_config` and `read_score_file` are loaded on first use (the pipeline pulls in
numpy and the scoring code; a backend imports torch only when a run builds it).

    import harness
    config = harness.load_config("configs/quickstart.yaml", overrides=["tasks.0.limit=2"])
    for outcome in harness.run(config, progress=False):
        print(harness.read_score_file(outcome.score_file).metrics)
"""

from __future__ import annotations

from importlib import import_module, metadata
from typing import TYPE_CHECKING, Any

from harness.types import FieldSpec, Grader, TaskSpec

if TYPE_CHECKING:
    from harness.config import load_config
    from harness.pipeline import run
    from harness.results import read_score_file


def _installed_version() -> str:
    # pyproject.toml is the one place the version is written; a checkout that was never installed has none.
    try:
        return metadata.version("harness")
    except metadata.PackageNotFoundError:
        return "0+unknown"


__version__ = _installed_version()

_LAZY = {
    "run": "harness.pipeline",
    "load_config": "harness.config",
    "read_score_file": "harness.results",
}

__all__ = ["FieldSpec", "Grader", "TaskSpec", "__version__", "load_config", "read_score_file", "run"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'harness' has no attribute {name!r}")
