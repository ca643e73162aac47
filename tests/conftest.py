"""Shared fixtures: paths to the repository, the shared benchmark data, and a session-wide model cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"benchmark data folder {SHARED_DATA} is absent")
    return SHARED_DATA


@pytest.fixture(scope="session", autouse=True)
def _session_model_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    # Tests never read or write the user's model cache; the first GGUF load of the session fills this one.
    if "HARNESS_TEST_CACHE_DIR" in os.environ:
        os.environ["HARNESS_CACHE_DIR"] = os.environ["HARNESS_TEST_CACHE_DIR"]
    else:
        os.environ["HARNESS_CACHE_DIR"] = str(tmp_path_factory.mktemp("model-cache"))


def modules_after(code: str, watched: tuple[str, ...], prefix: str = "\0") -> list[str]:
    """Which of `watched` (or of the modules whose name starts with `prefix`) a fresh interpreter has
    imported after running `code`: what this process imported already cannot hide or fake a heavy import."""
    probe = (
        f"import sys\n{code}\nimport json\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m in {watched!r} or m.startswith({prefix!r}))))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded: list[str] = json.loads(result.stdout)
    return loaded
