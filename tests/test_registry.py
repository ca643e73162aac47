"""Task discovery, including a real third-party plugin package installed with pip."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.data import load_problems
from harness.registry import discover
from harness.types import Completion
from tests.plugin_package import install_plugin, plugin_env

from .conftest import REPO

HARNESS = [sys.executable, "-m", "harness.cli"]

# The data file is named relative to the module: found inside the installed package whatever the cwd.
PLUGIN_MODULE = """
from harness.types import DatasetSource, FieldSpec, Grader, Score, TaskSpec, Verdict


def score_exact(problem, completion):
    said = completion.text.strip()
    verdict = Verdict.CORRECT if said == problem.answer else Verdict.WRONG
    return Score(problem.id, completion.sample_index, verdict, said)


TASKS = [TaskSpec(
    name="capitals",
    version="3",
    description="capital cities (a third-party plugin)",
    source=DatasetSource(hub_id=None, bundled_file="capitals.jsonl"),
    to_problem=FieldSpec(id="key", problem="q", answer="a"),
    prompt_template="What is the capital of {problem}?",
    grader=Grader("exact", "1", score_exact),
    problem_count=2,
)]
"""


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build and install (into a private --target folder) a plugin package with an entry point."""
    root = tmp_path_factory.mktemp("plugin-src")
    package = root / "capitals_plugin"
    package.mkdir()
    (package / "__init__.py").write_text(PLUGIN_MODULE)
    rows = [{"key": "fr", "q": "France", "a": "Paris"}, {"key": "it", "q": "Italy", "a": "Rome"}]
    (package / "capitals.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    entry_points = """
        [project.entry-points."harness.tasks"]
        capitals = "capitals_plugin:TASKS"
        broken = "no_such_module_anywhere:TASKS"
    """
    package_data = """
        [tool.setuptools.package-data]
        capitals_plugin = ["*.jsonl"]
    """
    site = tmp_path_factory.mktemp("plugin-site")
    return install_plugin(root, site, "capitals-plugin", entry_points, package_data)


def test_builtin_tasks_come_through_the_entry_point_group() -> None:
    registry = discover()
    assert {"aime24", "aime25", "math500", "gsm8k", "sample-math"} <= set(registry.tasks)
    assert registry.tasks["aime24"].origin.startswith("entry point aime (harness.tasks.aime:TASKS)")


def test_installed_plugin_is_listed_and_broken_one_reported(plugin_site: Path) -> None:
    result = subprocess.run(
        [*HARNESS, "tasks"], env=plugin_env(plugin_site), capture_output=True, text=True, check=True
    )
    line = next(row for row in result.stdout.splitlines() if row.startswith("capitals"))
    assert "3" in line.split() and "capital cities" in line
    assert "aime24" in result.stdout  # the broken plugin did not stop the others
    assert "plugin broken failed to load: ModuleNotFoundError" in result.stdout


def test_installed_plugin_is_evaluated_by_harness_run(plugin_site: Path, tmp_path: Path) -> None:
    completions = tmp_path / "said.jsonl"
    completions.write_text(
        json.dumps({"task": "capitals", "problem_id": "fr", "sample_index": 0, "text": "Paris"})
        + "\n"
        + json.dumps({"task": "capitals", "problem_id": "it", "sample_index": 0, "text": "Milan"})
        + "\n"
    )
    config = tmp_path / "config.yaml"
    config.write_text(
        f"model: {{name: parrot, backend: replay, path: {completions}}}\n"
        f"tasks: [capitals]\noutput: {tmp_path / 'out'}\n"
    )
    subprocess.run(
        [*HARNESS, "run", str(config), "--no-progress"],
        cwd=tmp_path,
        env=plugin_env(plugin_site),
        capture_output=True,
        text=True,
        check=True,
    )
    [score_file] = (tmp_path / "out").glob("*.json")
    record = json.loads(score_file.read_text())
    assert record["task"] == {"name": "capitals", "version": "3"}
    assert record["metrics"]["accuracy"] == 0.5
    assert record["counts"]["correct"] == 1 and record["counts"]["wrong"] == 1


def test_task_folder_plugins_and_failures(tmp_path: Path) -> None:
    (tmp_path / "good.py").write_text(PLUGIN_MODULE.replace('"capitals"', '"capitals-local"'))
    (tmp_path / "bad.py").write_text("raise RuntimeError('boom')\n")
    (tmp_path / "empty.py").write_text("X = 1\n")
    no_slot = PLUGIN_MODULE.replace('"capitals"', '"capitals-no-slot"')
    (tmp_path / "no_slot.py").write_text(no_slot.replace("capital of {problem}?", "capital of France?"))
    registry = discover([tmp_path])
    assert "capitals-local" in registry.tasks
    reasons = {Path(f.plugin).name: f.reason for f in registry.failures}
    assert reasons["bad.py"].startswith("RuntimeError: boom")
    assert reasons["empty.py"] == "defines neither TASKS nor TASK"
    assert "capitals-no-slot" not in registry.tasks
    assert reasons["no_slot.py"] == "task 'capitals-no-slot': prompt_template must contain {problem}"
    with pytest.raises(KeyError, match=r"no_slot\.py failed to load: task 'capitals-no-slot': prompt_t"):
        registry.get("capitals-no-slot")


def test_unknown_task_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match=r"unknown task 'nope'.*aime24"):
        discover().get("nope")


def readme_plugin_example() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Writing a task plugin") :]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_readme_plugin_example_loads_its_bundled_rows_and_grades(tmp_path: Path) -> None:
    folder = tmp_path / "my_tasks"
    folder.mkdir()
    (folder / "algebra.py").write_text(readme_plugin_example(), encoding="utf-8")
    rows = [
        {"id": "lin-1", "question": "If 2x = 6, what is x?", "answer": 3, "topic": "linear"},
        {"id": "quad-1", "question": "x^2 = 4 and x > 0; x?", "answer": " 2 ", "topic": None},
    ]
    (folder / "algebra.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    registry = discover([folder])
    assert registry.failures == []
    spec = registry.get("my-algebra")
    loaded = load_problems(spec)  # the working folder is the repository, not my_tasks/
    assert loaded.source["file"] == "algebra.jsonl"
    got = [(p.id, p.prompt, p.answer, dict(p.meta)) for p in loaded.problems]
    assert got == [
        ("lin-1", "If 2x = 6, what is x?", "3", {"topic": "linear"}),
        ("quad-1", "x^2 = 4 and x > 0; x?", "2", {}),
    ]
    said = Completion("my-algebra", "lin-1", 0, "so x = \\boxed{3}", 9, "stop")
    assert spec.grader.score(loaded.problems[0], said).correct
