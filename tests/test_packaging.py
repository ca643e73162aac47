"""Packaging in pyproject.toml: the wheel installs one top-level name, `harness`, with the tasks inside it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from harness.registry import discover

from .conftest import REPO

tomllib = pytest.importorskip("tomllib")  # Python 3.11+; the check is the same on any version


def setuptools_config() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_folder_of_code_or_data_is_a_listed_package() -> None:
    # The list is written out because discovery cannot rename tasks/; a new subpackage must be added to it.
    config = setuptools_config()
    assert config["package-dir"] == {"harness.tasks": "tasks"}
    on_disk = set()
    for top, name in ((REPO / "harness", "harness"), (REPO / "tasks", "harness.tasks")):
        for folder in [top, *(p for p in top.rglob("*") if p.is_dir() and p.name != "__pycache__")]:
            if any(f.is_file() and f.suffix in (".py", ".json", ".jsonl") for f in folder.iterdir()):
                on_disk.add(".".join([name, *folder.relative_to(top).parts]))
    assert on_disk == set(config["packages"])


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Built from a copy, so a stale build/ folder in the checkout cannot leak old files into it.
    source = tmp_path_factory.mktemp("source")
    for name in ("harness", "tasks"):
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", str(source),
         "-w", str(out)],
        check=True, capture_output=True,
    )  # fmt: skip
    [built] = out.glob("harness-*.whl")
    return built


def test_the_wheel_has_no_top_level_tasks_package(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"harness", wheel.name.split("-py3")[0] + ".dist-info"}
    shipped = {n for n in names if n.startswith("harness/tasks/")}
    expected = {f"harness/tasks/{p.relative_to(REPO / 'tasks')}" for p in (REPO / "tasks").rglob("*.py")}
    expected |= {f"harness/tasks/data/{p.name}" for p in (REPO / "tasks" / "data").glob("*.jsonl")}
    assert shipped == expected
    assert "harness/schemas/score_file.schema.json" in names


def test_the_installed_wheel_finds_every_built_in_task_and_no_tasks_module(
    wheel: Path, tmp_path: Path
) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target", str(target),
         str(wheel)],
        check=True, capture_output=True,
    )  # fmt: skip
    code = (
        "import importlib.util, json, harness\n"
        "from harness.registry import discover\n"
        "from harness.data import load_problems\n"
        "registry = discover()\n"
        "sample_math = len(load_problems(registry.get('sample-math')).problems)\n"
        "print(json.dumps([importlib.util.find_spec('tasks') is None, harness.__file__,\n"
        "    sorted(registry.tasks), [f.reason for f in registry.failures], sample_math]))\n"
    )
    # The wheel's folder comes before this environment's editable install on the path, so it is what runs;
    # the working folder is a scratch one, where no tasks/ folder could be imported by accident.
    env = {**os.environ, "PYTHONPATH": str(target)}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    )
    no_tasks_module, imported_from, names, failures, sample_math = json.loads(result.stdout)
    assert no_tasks_module and imported_from == str(target / "harness" / "__init__.py")
    assert names == sorted(discover().tasks) and failures == [] and sample_math == 24
