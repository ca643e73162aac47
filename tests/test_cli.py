"""The command line as a person uses it: real subprocesses, exit codes and messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.data import load_problems
from harness.registry import discover

HARNESS = [sys.executable, "-m", "harness.cli"]


def harness(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HARNESS, *args], capture_output=True, text=True, cwd=cwd, timeout=600)


def test_help_works_without_importing_torch() -> None:
    code = (
        "import sys; from harness.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'transformers', 'datasets') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "leaderboard" in result.stdout and "run" in result.stdout


def test_bad_config_exits_2_names_the_field_and_writes_nothing(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    out = tmp_path / "out"
    config.write_text(
        f"model: {{name: m, backend: hf, path: p}}\ntasks: [{{name: sample-math, limit: -1}}]\n"
        f"output: {out}\n"
    )
    result = harness("run", str(config))
    assert result.returncode == 2
    assert "bad.yaml: tasks[0].limit: expected a positive integer" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_unknown_task_and_missing_config_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        f"model: {{name: m, backend: replay, path: x.jsonl}}\ntasks: [nope]\noutput: {tmp_path}\n"
    )
    result = harness("run", str(config))
    assert result.returncode == 2 and "tasks[0].name: unknown task 'nope'" in result.stderr
    result = harness("run", str(tmp_path / "absent.yaml"))
    assert result.returncode == 2 and "config file not found" in result.stderr


def test_missing_model_path_exits_1_with_the_path(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        f"model: {{name: m, backend: hf, path: {tmp_path / 'no-model'}}}\n"
        f"tasks: [{{name: sample-math, limit: 1}}]\noutput: {tmp_path / 'out'}\n"
    )
    result = harness("run", str(config), "--no-progress")
    assert result.returncode == 1
    assert "no-model" in result.stderr and "Traceback" not in result.stderr
    assert not list((tmp_path / "out").glob("*.json"))


def test_run_show_and_leaderboard_end_to_end(tmp_path: Path) -> None:
    problems = load_problems(discover().get("sample-math")).problems
    replay = tmp_path / "replay.jsonl"
    replay.write_text(
        "".join(
            json.dumps(
                {
                    "task": "sample-math",
                    "problem_id": p.id,
                    "sample_index": 0,
                    "text": f"The final answer is {p.answer if i % 2 else 0}.",
                }
            )
            + "\n"
            for i, p in enumerate(problems)
        )
    )
    config = tmp_path / "c.yaml"
    config.write_text(
        f"model: {{name: half-right, backend: replay, path: {replay}}}\n"
        f"tasks: [sample-math]\noutput: {tmp_path / 'out'}\n"
    )
    result = harness("run", str(config), "--no-progress")
    assert result.returncode == 0, result.stderr
    assert "score files written under" in result.stdout and "50.0" in result.stdout
    [score_file] = (tmp_path / "out").glob("*.json")
    shown = harness("show", str(score_file))
    assert shown.returncode == 0 and "accuracy     50.0%" in shown.stdout
    (tmp_path / "out" / "junk.json").write_text("{not json")
    board = harness("leaderboard", str(tmp_path / "out"))
    assert board.returncode == 0, board.stderr
    assert "half-right" in board.stdout and "junk.json" in board.stderr
    assert (tmp_path / "out" / "leaderboard.md").is_file() and (
        tmp_path / "out" / "leaderboard.csv"
    ).is_file()


def test_bare_harness_lists_the_commands() -> None:
    result = harness()
    assert result.returncode == 2 and "Traceback" not in result.stderr
    for command in ("run", "tasks", "leaderboard", "show", "compare", "merge"):
        assert f"    {command}" in result.stdout


def test_merge_help_describes_every_option() -> None:
    result = harness("merge", "--help")
    assert result.returncode == 0
    described = result.stdout.split("positional arguments:", 1)[1].splitlines()
    for option in ("config", "--limit LIMIT", "--output OUTPUT", "--set KEY.PATH=VALUE", "--no-progress"):
        line = next(line for line in described if line.strip().startswith(option))
        assert len(line.split()) > len(option.split()), f"{option} has no description"


def test_bad_numbers_on_the_command_line_are_usage_errors(tmp_path: Path) -> None:
    for args in (
        ["compare", "a.json", "b.json", "--resamples", "0"],
        ["compare", "a.json", "b.json", "--seed", "-1"],
        ["run", "c.yaml", "--limit", "x"],
    ):
        result = harness(*args)
        assert result.returncode == 2, args
        assert "expected a whole number" in result.stderr and "Traceback" not in result.stderr


def test_device_cuda_without_cuda_exits_2_before_loading_the_model(tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    config = tmp_path / "c.yaml"
    config.write_text(
        "model: {name: m, backend: hf, path: smollm2-135m-instruct, device: cuda}\n"
        f"tasks: [{{name: sample-math, limit: 1}}]\noutput: {tmp_path / 'out'}\n"
    )
    result = harness("run", str(config), "--no-progress")
    assert result.returncode == 2, result.stderr
    assert "model.device: 'cuda' was requested but torch sees no CUDA device" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list((tmp_path / "out").glob("*.json"))
