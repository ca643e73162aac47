"""Merging shards run in separate output folders, as on separate machines, and merges that cannot work."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.config import load_config
from harness.merge import merge_shards
from harness.pipeline import RunError, run
from harness.results import read_samples, read_score_file
from harness.sharding import Shard
from tests.test_pipeline import sample_answers, write_replay


def write_config(tmp_path: Path) -> Path:
    replay = write_replay(tmp_path / "replay.jsonl", sample_answers(2))
    config = tmp_path / "c.yaml"
    config.write_text(
        f"model: {{name: replayed, backend: replay, path: {replay}}}\n"
        "generation: {n: 2, temperature: 0.6}\ntasks: [sample-math]\n"
    )
    return config


def run_shard(config: Path, output: Path, index: int, count: int) -> None:
    run(load_config(config, output=output), shard=Shard(index, count), progress=False)


def gather(sources: list[Path], into: Path) -> None:
    """What a person does after a cluster run: copy every machine's journal folder into one."""
    (into / ".journal").mkdir(parents=True, exist_ok=True)
    for source in sources:
        for path in (source / ".journal").iterdir():
            if not path.name.endswith(".lock"):
                shutil.copy2(path, into / ".journal" / path.name)


def test_shards_from_separate_folders_merge_into_what_one_run_writes(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    [whole] = run(load_config(config, output=tmp_path / "whole"), progress=False)
    machines = [tmp_path / f"machine{i}" for i in range(3)]
    for index, machine in enumerate(machines):
        run_shard(config, machine, index, 3)
    gather(machines, tmp_path / "merged")
    [merged] = merge_shards(load_config(config, output=tmp_path / "merged"), progress=False)
    assert whole.score_file is not None and merged.score_file is not None
    assert whole.score_file.name == merged.score_file.name
    a, b = read_score_file(whole.score_file), read_score_file(merged.score_file)
    assert (a.metrics, a.counts, a.protocol, a.model) == (b.metrics, b.counts, b.protocol, b.model)
    assert read_samples(whole.score_file, a) == read_samples(merged.score_file, b)
    assert b.metrics["accuracy"] == pytest.approx(0.75)


def test_journals_of_two_different_splits_are_refused(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    out = tmp_path / "out"
    run_shard(config, out, 0, 2)
    run_shard(config, out, 1, 3)
    with pytest.raises(RunError, match=r"shard journals from different shard counts \(2, 3\)"):
        merge_shards(load_config(config, output=out), progress=False)
    assert not list(out.glob("*.json"))


def test_a_missing_model_record_says_where_to_get_it(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    out = tmp_path / "out"
    run_shard(config, out, 0, 2)
    run_shard(config, out, 1, 2)
    [model_file] = (out / ".journal").glob("*.model.json")
    model_file.unlink()
    with pytest.raises(RunError, match=r"model\.json is missing; copy it from any shard's output folder"):
        merge_shards(load_config(config, output=out), progress=False)
    assert not list(out.glob("*.json"))
