"""The cost frontier: from score files whose cost block comes from harness.cost.block.run_cost_block."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from harness.cost.block import RunTotals, run_cost_block
from harness.cost.readings import EnergyMeasurement, EnergyReading
from harness.cost.settings import CostSettings
from harness.reporting.frontier import cost_frontiers, frontier_markdown, pareto_front
from harness.reporting.leaderboard import build_leaderboard
from harness.reporting.leaderboard_export import render_csv, render_json, render_markdown
from harness.reporting.leaderboard_html import render_html
from tests.reporting.score_files import write_result

R, W = True, False


def block(joules: float | None, settings: CostSettings, wall_seconds: float, correct: int) -> dict[str, Any]:
    """A real cost block for a 4-problem, 1-sample run: measured joules, or a remote (unknown) part."""
    if joules is None:
        reading = EnergyReading("remote server", None, "unknown", "remote", "served from another machine")
    else:
        reading = EnergyReading("gpu0", joules, "measured", "nvml-energy-counter", "test counter")
    totals = RunTotals(
        problems=4, samples=4, correct=correct, generated_tokens=1000, wall_seconds=wall_seconds
    )
    return run_cost_block(EnergyMeasurement((reading,), seconds=wall_seconds), settings, totals)


def write_cost_board(tmp_path: Path) -> Path:
    usd = CostSettings(price_per_device_hour=1.0, price_source="test list price")
    # lean: 50% for 50 J and 0.0025 USD per problem (1 USD/h x 36 s / 4 problems).
    write_result(tmp_path, "lean", [[R], [R], [W], [W]], cost=block(200.0, usd, 36.0, 2))
    # big: 75% for 200 J and 0.05 USD per problem (2 USD/h x 360 s / 4).
    big_price = CostSettings(price_per_device_hour=2.0)
    write_result(tmp_path, "big", [[R], [R], [R], [W]], cost=block(800.0, big_price, 360.0, 3))
    # waste: 25% for 100 J and 0.025 USD: lean is more accurate for less of both.
    waste_price = CostSettings(price_per_device_hour=10.0)
    write_result(tmp_path, "waste", [[R], [W], [W], [W]], cost=block(400.0, waste_price, 36.0, 1))
    # remote: energy unknown (served elsewhere), priced per token in EUR: alone in its currency.
    eur = CostSettings(price_per_million_output_tokens=2.0, currency="EUR")
    write_result(tmp_path, "remote", [[R], [R], [R], [W]], cost=block(None, eur, 50.0, 3))
    # legacy: the best accuracy, but a score file from before the cost block: unknown, not free.
    write_result(tmp_path, "legacy", [[R], [R], [R], [R]])
    return tmp_path


@pytest.fixture
def board_dir(tmp_path: Path) -> Path:
    return write_cost_board(tmp_path)


def test_pareto_front_keeps_what_nothing_beats_on_both() -> None:
    points = {"a": (0.5, 10.0), "b": (0.75, 40.0), "c": (0.25, 20.0), "d": (0.5, 10.0), "e": (0.75, 50.0)}
    # c: a is more accurate for less; e: b is as accurate for less; a and d tie and are both kept.
    assert pareto_front(points) == {"a", "b", "d"}
    assert pareto_front({}) == set()


def test_frontier_marks_models_and_keeps_unknown_costs_unknown(board_dir: Path) -> None:
    lb = build_leaderboard(board_dir)
    [frontier] = cost_frontiers(lb)
    by_model = {p.row.name: p for p in frontier.points}
    assert {m for m, p in by_model.items() if p.on_energy_frontier} == {"lean", "big"}
    assert {m for m, p in by_model.items() if p.on_money_frontier} == {"lean", "big", "remote"}
    assert by_model["lean"].energy_joules == 50.0 and by_model["lean"].energy_kind == "measured"
    assert by_model["lean"].money == pytest.approx(0.0025) and by_model["lean"].currency == "USD"
    assert by_model["waste"].money == pytest.approx(0.025)
    remote, legacy = by_model["remote"], by_model["legacy"]
    assert (remote.energy_joules, remote.energy_kind, remote.currency) == (None, "unknown", "EUR")
    assert (legacy.energy_joules, legacy.money, legacy.energy_kind) == (None, None, "unknown")
    assert not legacy.on_energy_frontier and not legacy.on_money_frontier


def test_frontier_in_markdown_csv_and_json(board_dir: Path) -> None:
    lb = build_leaderboard(board_dir)
    markdown = render_markdown(lb)
    assert "## Cost frontier" in markdown and markdown == render_markdown(lb)
    assert "| toy | lean hf float32 rev1 | 50.0 | 50 J (measured) | 0.0025 USD | energy, money |" in markdown
    assert "| toy | waste hf float32 rev1 | 25.0 | 100 J (measured) | 0.025 USD | – |" in markdown
    assert "| toy | legacy hf float32 rev1 | 100.0 | unknown | unknown | – |" in markdown
    table = {r["model"]: r for r in csv.DictReader(io.StringIO(render_csv(lb)))}
    assert table["legacy"]["energy_joules_per_problem"] == "" and table["legacy"]["money_per_problem"] == ""
    assert table["legacy"]["energy_kind"] == "unknown"
    assert float(table["big"]["energy_joules_per_problem"]) == 200.0
    assert table["big"]["on_energy_frontier"] == "True" and table["waste"]["on_money_frontier"] == "False"
    [column] = json.loads(render_json(lb))["cost_frontier"]
    points = {p["model"]: p for p in column["points"]}
    assert (
        points["legacy"]["energy_joules_per_problem"] is None
        and points["legacy"]["money_per_problem"] is None
    )
    assert points["remote"]["on_money_frontier"] is True and points["remote"]["currency"] == "EUR"


def test_boards_without_cost_blocks_have_no_frontier(tmp_path: Path) -> None:
    write_result(tmp_path, "a", [[R], [W]])
    write_result(tmp_path, "b", [[W], [W]])
    lb = build_leaderboard(tmp_path)
    assert cost_frontiers(lb) == [] and frontier_markdown(lb) == []
    assert "energy_kind" not in render_csv(lb) and "cost_frontier" not in json.loads(render_json(lb))
    assert 'id="frontier"' not in render_html(lb)
