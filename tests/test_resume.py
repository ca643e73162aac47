"""Resume without loss: a real run on the embedded model, killed with SIGKILL partway, then rerun."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.results import read_samples, read_score_file

pytestmark = pytest.mark.slow

CONFIG = """
model: {{name: smollm2, backend: hf, path: smollm2-135m-instruct, batch_size: 1, dtype: float32}}
generation: {{max_new_tokens: 24, n: 2, temperature: 0.7, seed: 7}}
tasks: [{{name: sample-math, limit: 3}}]
output: {output}
"""


def start(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "run", str(config), "--no-progress"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def journal_lines(output: Path) -> int:
    files = list((output / ".journal").glob("*.jsonl")) if (output / ".journal").exists() else []
    return sum(len(f.read_text().splitlines()) for f in files)


def comparable(path: Path) -> tuple[dict, list]:
    record = read_score_file(path)
    samples = [(r.problem_id, r.sample_index, r.completion, r.verdict) for r in read_samples(path, record)]
    return {
        "metrics": record.metrics,
        "counts": record.counts,
        "protocol": record.protocol,
        "model": record.model,
        "task": record.task,
    }, samples


def test_sigkill_then_rerun_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    for name, output in (("whole", whole), ("killed", killed)):
        (tmp_path / f"{name}.yaml").write_text(CONFIG.format(output=output))

    process = start(tmp_path / "killed.yaml")
    deadline = time.monotonic() + 300
    while journal_lines(killed) < 3 and time.monotonic() < deadline:  # header + at least 2 samples
        assert process.poll() is None, process.communicate()
        time.sleep(0.2)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    journaled = journal_lines(killed) - 1
    assert 2 <= journaled < 6, "the run must be killed partway"
    assert not list(killed.glob("*.json"))

    # A torn write: half a JSON line at the end of the journal. That sample must simply be redone.
    [journal] = (killed / ".journal").glob("*.jsonl")
    with journal.open("a") as handle:
        handle.write('{"task": "sample-math", "problem_id": "add-3", "sampl')

    rerun = start(tmp_path / "killed.yaml")
    assert rerun.wait(timeout=600) == 0, rerun.communicate()
    uninterrupted = start(tmp_path / "whole.yaml")
    assert uninterrupted.wait(timeout=600) == 0, uninterrupted.communicate()

    [resumed_file] = killed.glob("*.json")
    [whole_file] = whole.glob("*.json")
    assert comparable(resumed_file) == comparable(whole_file)
    lines = [json.loads(line) for line in journal.read_text().splitlines()[1:]]
    assert len(lines) == 6  # nothing duplicated, the torn line gone
