"""Backends as plugins: a throwaway engine package installed with pip, found through the
`harness.backends` entry-point group, and run end to end by `harness run`."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.backends.base import BackendBase, BackendError
from harness.backends.registry import BACKEND_NAMES, backend_names, create_backend
from harness.types import ModelSpec
from tests.plugin_package import install_plugin, plugin_env

HARNESS = [sys.executable, "-m", "harness.cli"]

# An "engine" that adds the two numbers of "a+b" prompts, reports token progress while it works, and says
# in its model info whether the pipeline handed it a progress callback.
ENGINE_MODULE = """
import re
from tests.plugin_package import install_plugin, plugin_env

from harness.backends.base import BackendBase
from harness.types import Completion, ModelInfo


class AdderBackend(BackendBase):
    def __init__(self, spec):
        self.spec = spec
        self.saw_progress = False

    def info(self):
        return ModelInfo(self.spec.name, self.spec.backend, self.spec.path, None, "none", "cpu",
                         "adder 1.0", 1, None, {"saw_progress_callback": self.saw_progress})

    def generate(self, requests):
        for request in requests:
            if self.on_tokens is not None:
                self.saw_progress = True
                self.on_tokens(1)
            a, b = re.search(r"(\\d+)\\+(\\d+)", request.messages[-1].content).groups()
            yield Completion(request.task, request.problem_id, request.sample_index,
                             f"\\\\boxed{{{int(a) + int(b)}}}", 3, "stop", 0.01)


class Incomplete:  # no info, no on_tokens: refused with the names of what is missing
    def __init__(self, spec):
        pass

    def generate(self, requests):
        return iter(())
"""

TASK_FILE = """
from harness.scoring.math import MATH_GRADER
from harness.types import DatasetSource, Problem, TaskSpec

TASKS = [TaskSpec(
    name="sums", version="1", description="sums",
    source=DatasetSource(hub_id=None, bundled_file=__file__.replace("sums.py", "sums.jsonl")),
    to_problem=lambda row, index: Problem(id=row["id"], prompt=row["q"], answer=row["a"]),
    prompt_template="{problem}", grader=MATH_GRADER, problem_count=3,
)]
"""


@pytest.fixture(scope="module")
def engine_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("engine-src")
    (root / "adder_engine").mkdir()
    (root / "adder_engine" / "__init__.py").write_text(ENGINE_MODULE)
    entry_points = """
        [project.entry-points."harness.backends"]
        adder = "adder_engine:AdderBackend"
        incomplete = "adder_engine:Incomplete"
        hf = "adder_engine:AdderBackend"
        absent = "no_such_engine_module:Engine"
    """
    return install_plugin(root, tmp_path_factory.mktemp("engine-site"), "adder-engine", entry_points)


def test_installed_backend_runs_end_to_end(engine_site: Path, tmp_path: Path) -> None:
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "sums.py").write_text(TASK_FILE)
    rows = [
        {"id": "a", "q": "1+1", "a": "2"},
        {"id": "b", "q": "20+22", "a": "42"},
        {"id": "c", "q": "2+2", "a": "5"},
    ]
    (tasks / "sums.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = tmp_path / "config.yaml"
    config.write_text(
        f"model: {{name: adder, backend: adder, path: none}}\ntask_paths: [{tasks}]\n"
        f"tasks: [sums]\noutput: {tmp_path / 'out'}\n"
    )
    result = subprocess.run(
        [*HARNESS, "run", str(config)], env=plugin_env(engine_site), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    [score_file] = (tmp_path / "out").glob("*.json")
    record = json.loads(score_file.read_text())
    assert record["model"]["backend"] == "adder" and record["model"]["engine"] == "adder 1.0"
    assert record["model"]["extra"]["saw_progress_callback"] is True  # the protocol's on_tokens reached it
    assert record["counts"]["correct"] == 2 and record["counts"]["wrong"] == 1


def _in_site(engine_site: Path, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], env=plugin_env(engine_site), capture_output=True, text=True
    )


def test_plugin_names_are_known_to_config_but_cannot_replace_builtins(engine_site: Path) -> None:
    code = (
        "from harness.backends.registry import backend_table\n"
        "t = backend_table()\n"
        "print(sorted(t)); print(t['hf'].module, t['adder'].origin)"
    )
    result = _in_site(engine_site, code)
    assert result.returncode == 0, result.stderr
    names, where = result.stdout.splitlines()
    assert {"adder", "incomplete", "absent", "hf", "replay", "openai"} <= set(ast.literal_eval(names))
    assert where == "harness.backends.hf entry point adder (adder_engine:AdderBackend)"


@pytest.mark.parametrize(
    ("backend", "complaint"),
    [
        ("incomplete", "lacks on_tokens, info, expect_requests, close of the Backend protocol"),
        (
            "absent",
            "failed to import (No module named 'no_such_engine_module'); "
            "install it with: reinstall adder-engine",
        ),
    ],
)
def test_broken_plugins_fail_with_what_to_do(engine_site: Path, backend: str, complaint: str) -> None:
    code = (
        "from harness.backends.registry import create_backend\nfrom harness.types import ModelSpec\n"
        f"create_backend(ModelSpec(name='m', backend={backend!r}, path='x'))"
    )
    result = _in_site(engine_site, code)
    assert result.returncode == 1 and complaint in result.stderr


def test_builtin_backends_follow_the_protocol_without_plugins() -> None:
    assert set(BACKEND_NAMES) <= set(backend_names())
    with pytest.raises(BackendError, match="unknown backend 'tgi'; use one of: hf, replay"):
        create_backend(ModelSpec(name="m", backend="tgi", path="x"))
    defaults = BackendBase()
    assert defaults.on_tokens is None and defaults.expect_requests(()) is None and defaults.close() is None
