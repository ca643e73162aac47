"""Combine the journals of a sharded run into the score files a single unsharded run would write."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from harness.config import EvalConfig
from harness.journal import lock_holder, merge_journals, recorded_generation_seconds
from harness.output_folder import check_writable
from harness.pipeline import RunError, TaskOutcome, finish_task, load_model_info, plan_tasks
from harness.registry import discover
from harness.sharding import Shard
from harness.types import SampleKey


def merge_shards(config: EvalConfig, command: str | None = None, progress: bool = True) -> list[TaskOutcome]:
    check_writable(config.output)
    registry = discover(config.task_paths)
    outcomes = []
    for plan in plan_tasks(config, registry):
        started = time.monotonic()
        journal_dir = config.output / ".journal"
        paths = sorted(journal_dir.glob(f"{plan.run_id}.shard*of*.jsonl"))
        if not paths:
            raise RunError(
                f"task {plan.spec.name}: no shard journals {plan.run_id}.shard*of*.jsonl in "
                f"{journal_dir}; run `harness run --shard i/N` with this config first"
            )
        count = _check_shard_set(paths, plan.spec.name)
        done = merge_journals(paths)
        missing = [r.key for r in plan.requests if r.key not in done]
        if missing:
            raise RunError(_unfinished_shards(plan.spec.name, missing, count, journal_dir, plan.run_id))
        model_info = load_model_info(journal_dir / f"{plan.run_id}.model.json")
        if model_info is None:
            raise RunError(
                f"task {plan.spec.name}: {journal_dir}/{plan.run_id}.model.json is missing; copy it "
                "from any shard's output folder"
            )
        completions = [done[r.key] for r in plan.requests]
        # Summed over shards: the machine time the run cost, as an unsharded run reports it.
        wall = sum(recorded_generation_seconds(p) for p in paths) + time.monotonic() - started
        outcomes.append(finish_task(plan, model_info, completions, config.output, wall, command, progress))
    return outcomes


def _check_shard_set(paths: list[Path], task: str) -> int:
    """The N of the split the journals belong to."""
    counts = {p.name.rsplit(".shard", 1)[1].split("of")[1].removesuffix(".jsonl") for p in paths}
    if len(counts) != 1:
        raise RunError(
            f"task {task}: shard journals from different shard counts ({', '.join(sorted(counts))}); "
            "merge the shards of one split only"
        )
    return int(counts.pop())


def _unfinished_shards(
    task: str, missing: Sequence[SampleKey], count: int, journal_dir: Path, run_id: str
) -> str:
    """Which shards lack samples, and what to run for each: the keys themselves mean nothing to a person."""
    lacking = Counter(next(i for i in range(count) if Shard(i, count).owns(key)) for key in missing)
    parts = []
    for index, samples in sorted(lacking.items()):
        journal = journal_dir / f"{run_id}.shard{index}of{count}.jsonl"
        holder = lock_holder(journal)
        if holder is not None:
            state = f"is still running ({holder})"
        else:
            state = "has not started (no journal)" if not journal.exists() else "has not finished"
        parts.append(f"shard {index}/{count} {state}: {samples} of its samples are missing ({journal})")
    shards = " ".join(f"--shard {index}/{count}" for index in sorted(lacking))
    return (
        f"task {task}: cannot merge yet: {'; '.join(parts)}. Run `harness run` with the same config and "
        f"{shards} (a rerun resumes where a shard stopped), then merge again"
    )
