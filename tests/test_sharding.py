"""Sharded runs: each shard journals its share; `harness merge` writes what one unsharded run writes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.results import read_samples, read_score_file
from harness.sharding import Shard, parse_shard
from harness.types import SampleKey
from tests.test_pipeline import sample_answers, write_replay

HARNESS = [sys.executable, "-m", "harness.cli"]


def test_shards_partition_the_work() -> None:
    keys = [SampleKey("t", f"p{i}", s) for i in range(50) for s in range(4)]
    owners = [[Shard(i, 3).owns(k) for i in range(3)] for k in keys]
    assert all(sum(row) == 1 for row in owners)
    shares = [sum(row[i] for row in owners) for i in range(3)]
    assert min(shares) > 40  # roughly even


@pytest.mark.parametrize("text", ["2/2", "1", "a/b", "0/0", "-1/3"])
def test_bad_shard_specs_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="--shard"):
        parse_shard(text)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HARNESS, *args, "--no-progress"], capture_output=True, text=True, timeout=300)


def test_merged_shards_equal_an_unsharded_run(tmp_path: Path) -> None:
    answers = sample_answers(3)
    replay = write_replay(tmp_path / "replay.jsonl", answers)
    config = tmp_path / "c.yaml"
    config.write_text(
        f"model: {{name: replayed, backend: replay, path: {replay}}}\n"
        "generation: {n: 3, temperature: 0.6}\ntasks: [sample-math]\n"
    )
    whole, sharded = tmp_path / "whole", tmp_path / "sharded"
    assert run_cli("run", str(config), "--output", str(whole)).returncode == 0

    premature = run_cli("merge", str(config), "--output", str(sharded))
    assert premature.returncode == 1 and "no shard journals" in premature.stderr
    first = run_cli("run", str(config), "--output", str(sharded), "--shard", "0/2")
    assert first.returncode == 0 and "shard 0/2" in first.stdout
    assert not list(sharded.glob("*.json"))  # a shard writes no score file
    incomplete = run_cli("merge", str(config), "--output", str(sharded))
    assert incomplete.returncode == 1
    owned = sum(Shard(1, 2).owns(SampleKey("sample-math", pid, i)) for pid, i in answers)
    absent = sharded / ".journal" / "*.shard1of2.jsonl"
    assert re.search(
        rf"shard 1/2 has not started \(no journal\): {owned} of its samples are missing \("
        rf"{re.escape(str(absent)).replace(re.escape('*'), '[0-9a-f]+')}\)\. Run `harness run` with the "
        r"same config and --shard 1/2 \(a rerun resumes",
        incomplete.stderr,
    ), incomplete.stderr
    assert "SampleKey" not in incomplete.stderr
    assert run_cli("run", str(config), "--output", str(sharded), "--shard", "1/2").returncode == 0
    merged = run_cli("merge", str(config), "--output", str(sharded))
    assert merged.returncode == 0, merged.stderr

    [a_path] = whole.glob("*.json")
    [b_path] = sharded.glob("*.json")
    a, b = read_score_file(a_path), read_score_file(b_path)
    assert a_path.name == b_path.name
    assert (a.metrics, a.counts, a.protocol, a.model) == (b.metrics, b.counts, b.protocol, b.model)
    assert read_samples(a_path, a) == read_samples(b_path, b)


def test_merge_says_which_shard_is_still_running(tmp_path: Path) -> None:
    from harness.config import load_config
    from harness.merge import merge_shards
    from harness.pipeline import RunError, run
    from harness.planning import plan_tasks
    from harness.registry import discover
    from harness.run_store import JournalLock

    answers = sample_answers(1)
    replay = write_replay(tmp_path / "replay.jsonl", answers)
    path = tmp_path / "c.yaml"
    path.write_text(f"model: {{name: r, backend: replay, path: {replay}}}\ntasks: [sample-math]\n")
    config = load_config(path, output=tmp_path / "out")
    run(config, shard=Shard(0, 2), progress=False)
    [plan] = plan_tasks(config, discover())
    running = r"shard 1/2 is still running \(pid \d+ on host .*\): \d+ of its samples are missing"
    lock = JournalLock(tmp_path / "out" / ".journal" / f"{plan.run_id}.shard1of2.jsonl")
    with lock, pytest.raises(RunError, match=running):
        merge_shards(config, progress=False)
