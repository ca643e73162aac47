"""Shared fixtures: paths to the repository, the shared benchmark data, and a session-wide model cache."""

from __future__ import annotations

import os
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
