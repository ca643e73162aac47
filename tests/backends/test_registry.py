"""Backend lookup by name: engines are imported only when asked for, and failures say what to do."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from harness.backends.base import BackendError
from harness.backends.registry import BACKEND_NAMES, create_backend
from harness.types import ModelSpec
from tests.conftest import modules_after

ENGINES = ("torch", "transformers", "llama_cpp", "vllm")


def loaded_after(code: str) -> list[str]:
    """Which engines and backend modules a fresh interpreter has imported after running `code`."""
    return modules_after(code, ENGINES, prefix="harness.backends.")


def test_the_built_in_names_are_known_without_importing_any_engine() -> None:
    assert set(BACKEND_NAMES) >= {"hf", "replay", "openai", "llamacpp", "vllm"}
    loaded = loaded_after("from harness.backends.registry import BACKEND_NAMES")
    assert not set(loaded) & set(ENGINES)
    assert not {"harness.backends.hf", "harness.backends.llamacpp", "harness.backends.vllm_backend"} & set(
        loaded
    )


def test_building_one_backend_imports_that_backend_only(tmp_path: Path) -> None:
    completions = tmp_path / "c.jsonl"
    completions.write_text('{"task": "t", "problem_id": "p", "sample_index": 0, "text": "x"}\n')
    loaded = loaded_after(
        "from harness.backends.registry import create_backend\n"
        "from harness.types import ModelSpec\n"
        f"create_backend(ModelSpec(name='m', backend='replay', path={str(completions)!r}))"
    )
    assert "harness.backends.replay" in loaded
    assert not set(loaded) & {*ENGINES, "harness.backends.hf", "harness.backends.openai_compat"}


def test_an_unknown_name_lists_the_ones_there_are() -> None:
    with pytest.raises(BackendError) as caught:
        create_backend(ModelSpec(name="m", backend="tgi", path="x"))
    message = str(caught.value)
    assert message.startswith("model 'm': unknown backend 'tgi'; use one of: ")
    assert all(name in message for name in BACKEND_NAMES)


def test_an_engine_that_is_not_installed_says_what_to_install() -> None:
    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vllm is installed here")
    with pytest.raises(BackendError, match=r"vLLM is not installed\. What to do: .*pip install vllm"):
        create_backend(ModelSpec(name="m", backend="vllm", path="some/model"))
