"""Cost wired into runs: the meter runs around generation, each session's measurement is kept beside the
journal, and the score file's cost block adds up every session (resume, shards, merge)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.config import ConfigError, load_config
from harness.merge import merge_shards
from harness.pipeline import run
from harness.planning import plan_tasks
from harness.registry import discover
from harness.results import read_score_file
from harness.run_store import RunStore
from harness.sharding import Shard
from tests.test_pipeline import sample_answers, write_replay
from tests.tiny_model import build_tiny_model


def tiny_config(tmp_path: Path, extra: str = "") -> Path:
    model = build_tiny_model(tmp_path / "tiny")
    config = tmp_path / "c.yaml"
    config.write_text(
        f"model: {{name: tiny, backend: hf, path: {model}, batch_size: 2, device: cpu}}\n"
        f"generation: {{max_new_tokens: 8}}\ntasks: [{{name: sample-math, limit: 4}}]\n"
        f"output: {tmp_path / 'out'}\n{extra}"
    )
    return config


def session_joules(store: RunStore, shard: Shard | None) -> list[float]:
    sessions = json.loads(store.energy_path(shard).read_text())["sessions"]
    return [sum(r["joules"] for r in s["readings"]) for s in sessions]


@pytest.mark.slow
def test_a_tiny_model_run_is_metered_priced_and_its_shards_add_up(tmp_path: Path) -> None:
    path = tiny_config(tmp_path, "cost: {price_per_device_hour: 3.6, price_source: test price}\n")
    config = load_config(path)
    [plan] = plan_tasks(config, discover())
    store = RunStore(config.output, plan.run_id)
    for index in (0, 1):
        run(config, shard=Shard(index, 2), progress=False)
    [outcome] = merge_shards(config, progress=False)
    assert outcome.score_file is not None
    record = read_score_file(outcome.score_file)
    cost = record.cost
    parts = [session_joules(store, Shard(i, 2)) for i in (0, 1)]
    assert all(len(p) == 1 and p[0] > 0 for p in parts)  # one metered session per shard
    # No RAPL on this machine: the CPU part is an estimate from this process's CPU time, and says so.
    assert cost["energy_kind"] == "estimated" and "cpu-time (estimated)" in cost["energy_method"]
    assert cost["energy_joules"] == pytest.approx(parts[0][0] + parts[1][0], abs=0.002)
    assert cost["money"] == pytest.approx(3.6 * cost["wall_seconds"] / 3600, rel=1e-3)
    assert cost["price_source"] == "test price" and cost["currency"] == "USD"
    per_problem = cost["per_problem"]
    assert per_problem["count"] == 4
    assert per_problem["energy_joules"] == pytest.approx(cost["energy_joules"] / 4, abs=0.002)
    correct = record.counts.get("correct", 0)
    assert cost["per_correct"]["count"] == correct
    if correct == 0:  # a random model: nothing correct, so nothing to divide by, never infinite
        assert cost["per_correct"]["energy_joules"] is None


def test_replayed_completions_have_unknown_energy_and_money_only_when_priced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    replay = write_replay(tmp_path / "replay.jsonl", sample_answers(1))
    config = tmp_path / "c.yaml"
    config.write_text(
        f"model: {{name: r, backend: replay, path: {replay}}}\n"
        f"tasks: [sample-math]\noutput: {tmp_path / 'o'}\n"
    )
    assert main(["run", str(config), "--no-progress"]) == 0
    [score_file] = (tmp_path / "o").glob("*.json")
    cost = read_score_file(score_file).cost
    assert cost["energy_joules"] is None and cost["energy_kind"] == "unknown"  # never zero
    assert cost["energy_method"] == "replayed completions: replay (unknown)"
    assert cost["money"] is None and cost["per_correct"]["money"] is None
    # A price from the command line prices the same journal on a rescore, without generating again.
    capsys.readouterr()
    assert main(["run", str(config), "--no-progress", "--price-per-device-hour", "7200"]) == 0
    cost = read_score_file(score_file).cost
    assert cost["money"] == pytest.approx(2 * cost["wall_seconds"], abs=0.002)  # wall rounded to ms
    assert cost["price_basis"].startswith("7200 USD per device-hour x 1 device x ")
    assert main(["show", str(score_file)]) == 0
    shown = capsys.readouterr().out
    assert "energy       unknown: replayed completions: replay (unknown)" in shown
    assert "money        " in shown and "USD (7200 USD per device-hour x 1 device" in shown


def test_a_bad_cost_block_is_a_config_error_naming_the_field(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("model: {name: r, backend: replay, path: x.jsonl}\ntasks: [sample-math]\n")
    with pytest.raises(ConfigError, match=r"c\.yaml: cost\.price_per_device_hour: must be >= 0, got -1"):
        load_config(config, overrides=["cost.price_per_device_hour=-1"])
    with pytest.raises(ConfigError, match=r"cost\.watts: unknown field"):
        load_config(config, overrides=["cost.watts=3"])
