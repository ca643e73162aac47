"""Combine the journals of a sharded run into the score files a single unsharded run would write."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence

from harness.config import EvalConfig
from harness.journal import merge_journals
from harness.output_folder import check_writable
from harness.pipeline import RunError, TaskOutcome, finish_task, run_cost
from harness.planning import plan_tasks
from harness.registry import discover
from harness.run_store import RunStore, ShardJournal
from harness.sharding import Shard
from harness.types import SampleKey


def merge_shards(config: EvalConfig, command: str | None = None, progress: bool = True) -> list[TaskOutcome]:
    check_writable(config.output)
    registry = discover(config.task_paths)
    outcomes = []
    for plan in plan_tasks(config, registry):
        started = time.monotonic()
        store = RunStore(config.output, plan.run_id)
        shards = store.shard_journals()
        if not shards:
            raise RunError(
                f"task {plan.spec.name}: no shard journals {plan.run_id}.shard*of*.jsonl in "
                f"{store.folder}; run `harness run --shard i/N` with this config first"
            )
        count = _check_shard_set(shards, plan.spec.name)
        done = merge_journals(s.path for s in shards)
        missing = [r.key for r in plan.requests if r.key not in done]
        if missing:
            raise RunError(_unfinished_shards(plan.spec.name, missing, count, store))
        model_info = store.load_model_info()
        if model_info is None:
            raise RunError(
                f"task {plan.spec.name}: {store.model_info_path} is missing; copy it "
                "from any shard's output folder"
            )
        completions = [done[r.key] for r in plan.requests]
        # Summed over shards: the machine time the run cost, as an unsharded run reports it.
        cost = run_cost(store, config, started, [s.shard for s in shards])
        outcomes.append(finish_task(plan, model_info, completions, config.output, cost, command, progress))
    return outcomes


def _check_shard_set(shards: list[ShardJournal], task: str) -> int:
    """The N of the split the journals belong to."""
    counts = {s.shard.count for s in shards}
    if len(counts) != 1:
        raise RunError(
            f"task {task}: shard journals from different shard counts "
            f"({', '.join(str(c) for c in sorted(counts))}); merge the shards of one split only"
        )
    return counts.pop()


def _unfinished_shards(task: str, missing: Sequence[SampleKey], count: int, store: RunStore) -> str:
    """Which shards lack samples, and what to run for each: the keys themselves mean nothing to a person."""
    lacking = Counter(next(i for i in range(count) if Shard(i, count).owns(key)) for key in missing)
    parts = []
    for index, samples in sorted(lacking.items()):
        shard = Shard(index, count)
        journal = store.journal_path(shard)
        holder = store.lock_holder(shard)
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
