"""Planning: settings layered in order, one request per (problem, sample) with its own seed, run ids that
name the model and the protocol but not how the model is reached."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from harness.config import load_config
from harness.planning import make_run_id, plan_tasks
from harness.registry import discover


def write_config(tmp_path: Path, n: int = 2) -> Path:
    config = tmp_path / "c.yaml"
    config.write_text(
        "model: {name: m, backend: replay, path: x.jsonl}\n"
        "generation: {temperature: 0.6, max_new_tokens: 64}\n"
        f"tasks: [{{name: sample-math, limit: 3, n: {n}}}]\n"
    )
    return config


def test_requests_cover_every_problem_and_sample_with_distinct_seeds(tmp_path: Path) -> None:
    [plan] = plan_tasks(load_config(write_config(tmp_path)), discover())
    assert [p.id for p in plan.loaded.problems] == [r.problem_id for r in plan.requests][::2]
    first = plan.loaded.problems[0].id
    assert [(r.problem_id, r.sample_index) for r in plan.requests[:2]] == [(first, 0), (first, 1)]
    assert len({r.seed for r in plan.requests}) == len(plan.requests) == 6
    # Task entry over the config's generation block over the task's defaults over the harness defaults.
    assert (plan.sampling.n, plan.sampling.temperature, plan.sampling.max_new_tokens) == (2, 0.6, 64)
    assert plan.requests[0].messages[-1].content.startswith(plan.loaded.problems[0].prompt[:20])


def test_run_id_follows_model_identity_and_protocol_but_not_batch_size(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path))
    [plan] = plan_tasks(config, discover())
    assert plan.run_id == make_run_id(config.model, plan.protocol["hash"])
    assert make_run_id(replace(config.model, batch_size=8), plan.protocol["hash"]) == plan.run_id
    assert make_run_id(replace(config.model, dtype="float16"), plan.protocol["hash"]) != plan.run_id
    [other] = plan_tasks(load_config(write_config(tmp_path, n=3)), discover())
    assert other.protocol["hash"] != plan.protocol["hash"] and other.run_id != plan.run_id
