"""Combine the journals of a sharded run into the score files a single unsharded run would write."""

from __future__ import annotations

import time
from pathlib import Path

from harness.config import EvalConfig
from harness.journal import merge_journals, recorded_generation_seconds
from harness.output_folder import check_writable
from harness.pipeline import RunError, TaskOutcome, finish_task, load_model_info, plan_tasks
from harness.registry import discover


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
        _check_shard_set(paths, plan.spec.name)
        done = merge_journals(paths)
        missing = [r.key for r in plan.requests if r.key not in done]
        if missing:
            raise RunError(
                f"task {plan.spec.name}: {len(missing)} samples are in no shard journal "
                f"(first: {missing[0]}); finish the missing shards, then merge again"
            )
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


def _check_shard_set(paths: list[Path], task: str) -> None:
    counts = {p.name.rsplit(".shard", 1)[1].split("of")[1].removesuffix(".jsonl") for p in paths}
    if len(counts) != 1:
        raise RunError(
            f"task {task}: shard journals from different shard counts ({', '.join(sorted(counts))}); "
            "merge the shards of one split only"
        )
