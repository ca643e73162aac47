"""Real runs of a tiny transformers model cut short: a second run of the same journal, SIGKILL, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.tiny_model import build_tiny_model

pytestmark = pytest.mark.slow  # three model loads and some seconds of generation, on purpose

HARNESS = [sys.executable, "-m", "harness.cli"]


def start(config: Path) -> subprocess.Popen[str]:
    command = [*HARNESS, "run", str(config), "--no-progress"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(condition: Callable[[], bool], process: subprocess.Popen[str], seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def journaled(journal_dir: Path) -> list[str]:
    """problem ids of the samples in the journal (the header line left out)."""
    files = list(journal_dir.glob("*.jsonl"))
    lines = files[0].read_text().splitlines()[1:] if files else []
    return [json.loads(line)["problem_id"] for line in lines if line.endswith("}")]


def test_a_run_cut_short_keeps_its_time_refuses_a_twin_and_says_what_it_saved(tmp_path: Path) -> None:
    model = build_tiny_model(tmp_path / "tiny")
    out = tmp_path / "out"
    config = tmp_path / "c.yaml"
    config.write_text(
        f"model: {{name: tiny, backend: hf, path: {model}, batch_size: 1, device: cpu}}\n"
        f"generation: {{max_new_tokens: 1500}}\ntasks: [sample-math]\noutput: {out}\n"
    )
    journal_dir = out / ".journal"
    started = time.monotonic()
    first = start(config)
    wait_for(lambda: len(journaled(journal_dir)) >= 1, first)

    twin = subprocess.run([*HARNESS, "run", str(config), "--no-progress"], capture_output=True, text=True)
    assert twin.returncode == 1
    assert f"is in use by another run (pid {first.pid} on host " in twin.stderr
    assert "Traceback" not in twin.stderr

    # The generation time is on disk while the run goes, so a SIGKILL does not lose it.
    wait_for(lambda: any(journal_dir.glob("*.wall.json")), first)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    [wall_file] = journal_dir.glob("*.wall.json")
    # Some seconds of this session are on record; never more than the session lived. (The clock thread's
    # 5 s wait and time.monotonic() need not agree to the millisecond on a virtual machine, so the lower
    # bound is not pinned to the interval.)
    assert 0 < json.loads(wall_file.read_text())["generation_wall_seconds"] <= time.monotonic() - started
    before = journaled(journal_dir)

    # Resume, then Ctrl-C: the message gives the exact number of samples in the journal.
    second = start(config)
    wait_for(lambda: len(journaled(journal_dir)) > len(before), second)
    second.send_signal(signal.SIGINT)
    _, stderr = second.communicate(timeout=300)
    assert second.returncode == 130, stderr
    after = journaled(journal_dir)
    assert len(after) == len(set(after))  # nothing generated twice
    assert (
        f"interrupted: task sample-math: {len(after)} of 24 samples are saved in the journal "
        f"{next(journal_dir.glob('*.jsonl'))} ({len(after) - len(before)} added in this session)"
    ) in stderr
    assert "warning" not in stderr  # the dead run's lock was simply taken over
