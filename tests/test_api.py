"""The library API in harness/__init__.py: a task written in Python, run and read back without the CLI."""

from __future__ import annotations

import json
import re
from importlib import metadata
from pathlib import Path

import pytest

import harness
from harness.config import ConfigError

from .conftest import REPO, modules_after

# A third-party task file using only the public names: its own exact-match grader, its own data file.
TASK_FILE = """
from harness import Grader, TaskSpec
from harness.types import Completion, DatasetSource, Problem, Score, Verdict


def exact(problem: Problem, completion: Completion) -> Score:
    said = completion.text.strip()
    verdict = Verdict.CORRECT if said == problem.answer else Verdict.WRONG
    return Score(problem.id, completion.sample_index, verdict, said)


TASKS = [TaskSpec(
    name="capitals", version="1", description="capitals, exact match",
    source=DatasetSource(hub_id=None, bundled_file={data!r}),
    to_problem=lambda row, index: Problem(id=row["id"], prompt=row["q"], answer=row["a"]),
    prompt_template="{{problem}} One word.",
    grader=Grader("exact", "1", exact),
)]
"""

ROWS = [
    ("fr", "Capital of France?", "Paris"),
    ("it", "Capital of Italy?", "Rome"),
    ("de", "Capital of Germany?", "Berlin"),
]
SAID = {"fr": "Paris", "it": "Rome", "de": "Munich"}


def write_project(tmp_path: Path) -> Path:
    folder = tmp_path / "my_tasks"
    folder.mkdir()
    data = folder / "capitals.jsonl"
    data.write_text("".join(json.dumps({"id": i, "q": q, "a": a}) + "\n" for i, q, a in ROWS))
    (folder / "capitals.py").write_text(TASK_FILE.format(data=str(data)))
    replay = tmp_path / "said.jsonl"
    replay.write_text(
        "".join(
            json.dumps({"task": "capitals", "problem_id": i, "sample_index": 0, "text": t}) + "\n"
            for i, t in SAID.items()
        )
    )
    config = tmp_path / "eval.yaml"
    config.write_text(
        f"model: {{name: stored, backend: replay, path: {replay}}}\n"
        f"tasks: [capitals]\ntask_paths: [{folder}]\noutput: {tmp_path / 'out'}\n"
    )
    return config


def test_a_task_defined_in_python_runs_and_its_score_file_reads_back(tmp_path: Path) -> None:
    config = harness.load_config(str(write_project(tmp_path)))  # a plain string path is accepted
    [outcome] = harness.run(config, progress=False)
    assert outcome.task == "capitals" and outcome.score_file is not None
    record = harness.read_score_file(outcome.score_file)
    assert record.metrics["accuracy"] == pytest.approx(2 / 3)
    assert record.metrics["per_problem"] == {"fr": [1, 1], "it": [1, 1], "de": [0, 1]}
    assert record.protocol["grader"]["name"] == "exact"
    assert record.model["backend"] == "replay"


def test_api_errors_are_the_same_as_the_cli_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.yaml: config file not found"):
        harness.load_config(tmp_path / "missing.yaml")
    with pytest.raises(AttributeError, match="module 'harness' has no attribute 'runn'"):
        _ = harness.runn  # type: ignore[attr-defined]


def test_importing_harness_loads_neither_torch_nor_the_pipeline() -> None:
    code = "import harness\nharness.TaskSpec, harness.FieldSpec, harness.Grader, harness.__version__"
    assert modules_after(code, ("torch", "transformers", "numpy", "harness.pipeline")) == []


def test_version_is_the_installed_metadata_written_once_in_pyproject() -> None:
    declared = re.search(r'^version = "([^"]+)"', (REPO / "pyproject.toml").read_text(), re.MULTILINE)
    assert declared is not None
    assert harness.__version__ == metadata.version("harness") == declared.group(1)
    assert not re.search(r"^__version__ = \"", (REPO / "harness" / "__init__.py").read_text(), re.MULTILINE)
