"""Deterministic hf runs: the same bytes whichever way a run is cut, and rows journaled as they finish.

Real runs of the embedded model (bf16, greedy) on a few quickstart problems: batch_size 1 is the
reference; batch_size 2 and auto, two shards merged, and a run interrupted with SIGINT mid-batch and
resumed must all write exactly the reference's completions.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from harness.config import load_config
from harness.merge import merge_shards
from harness.pipeline import run
from harness.sharding import Shard

pytestmark = pytest.mark.slow

# add-3 ends after ~21 tokens while add-1 and add-2 run to 40, so the batch has a row that finishes early.
CONFIG = """
model: {{name: smollm2, backend: hf, path: smollm2-135m-instruct, dtype: bfloat16, device: cpu,
         batch_size: {batch_size}}}
generation: {{temperature: 0.0, max_new_tokens: 40, n: 1, seed: 1234}}
tasks: [{{name: sample-math, limit: 3}}, {{name: sample-code, limit: 1}}]
output: {output}
"""
FIRST_TASK_ROWS = 3


def write_config(folder: Path, batch_size: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yaml"
    path.write_text(CONFIG.format(batch_size=batch_size, output=folder / "out"), encoding="utf-8")
    return path


def completions(output: Path) -> dict[tuple[str, str, int], tuple[str, int, str]]:
    found = {}
    for path in sorted(output.glob("*.samples.jsonl")):
        task = path.name.split("__")[1]
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            found[(task, row["problem_id"], row["sample_index"])] = (
                row["completion"],
                row["output_tokens"],
                row["finish_reason"],
            )
    return found


def model_block(output: Path) -> dict[str, Any]:
    block: dict[str, Any] = json.loads(next(output.glob("*.json")).read_text(encoding="utf-8"))["model"]
    return block


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str, int], tuple[str, int, str]]:
    config = load_config(write_config(tmp_path_factory.mktemp("reference"), "1"))
    run(config, progress=False)
    found = completions(config.output)
    assert len(found) == 4
    assert model_block(config.output)["extra"]["batch_invariant"] is True
    return found


@pytest.mark.parametrize("batch_size", ["2", "auto"])
def test_batch_size_does_not_change_a_byte(reference: Any, tmp_path: Path, batch_size: str) -> None:
    config = load_config(write_config(tmp_path, batch_size))
    run(config, progress=False)
    assert completions(config.output) == reference
    extra = model_block(config.output)["extra"]
    # The rows really were decoded together (bf16 matrix products were checked row-invariant).
    assert extra["rows_per_step"] == (2 if batch_size == "2" else 32)
    assert (extra["deterministic"], extra["batch_invariant"]) == (True, True)


def test_shards_merged_equal_the_unsharded_run(reference: Any, tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, "auto"))
    for index in range(2):
        run(config, shard=Shard(index, 2), progress=False)
    merge_shards(config, progress=False)
    assert completions(config.output) == reference


def journaled(output: Path) -> int:
    journals = list((output / ".journal").glob("*.jsonl")) if (output / ".journal").is_dir() else []
    return sum(max(0, len(path.read_bytes().splitlines()) - 1) for path in journals)


def test_sigint_mid_batch_keeps_finished_rows_and_resume_is_identical(reference: Any, tmp_path: Path) -> None:
    config = write_config(tmp_path, "auto")
    command = [sys.executable, "-m", "harness.cli", "run", str(config), "--no-progress"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 600
    while journaled(tmp_path / "out") == 0 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    saved = journaled(tmp_path / "out")
    # The first task's 3 rows are one batch: rows that finished early were journaled while the
    # batch's other rows were still being decoded.
    assert process.returncode != 0
    assert 1 <= saved < FIRST_TASK_ROWS, stderr
    assert "Loading weights" not in stderr and "de-quantizing" not in stderr  # --no-progress
    resumed = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert completions(tmp_path / "out") == reference
