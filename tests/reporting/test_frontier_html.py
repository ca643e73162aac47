"""The cost frontier on the page: a chart per cost with the frontier drawn, and the table."""

from __future__ import annotations

from pathlib import Path

from harness.reporting.frontier_html import frontier_section
from harness.reporting.leaderboard import build_leaderboard
from harness.reporting.leaderboard_html import render_html
from tests.reporting.test_frontier import write_cost_board


def test_the_section_marks_frontier_models_and_leaves_unknown_costs_out_of_the_charts(tmp_path: Path) -> None:
    lb = build_leaderboard(write_cost_board(tmp_path))
    section = frontier_section(lb)
    assert section.startswith('<section id="frontier"><h2>Cost frontier</h2>') and section in render_html(lb)
    # Two models on the energy frontier, three (two USD, one EUR) on the money one: filled dots.
    assert section.count('class="dot frontier"') == 2 + 3
    assert section.count('class="frontier-line"') == 2  # the USD pair and the energy pair; EUR is alone
    # legacy (no cost block) is in neither chart, and both of its costs read unknown in the table.
    charts = section[: section.index('<table class="frontier">')]
    assert "legacy" not in charts and charts.count("<svg") == 2
    assert (
        "<td>legacy</td><td class=num>100.0</td>"
        "<td class=num>unknown</td><td class=num>unknown</td><td>–</td>" in section
    )
    assert '<tr class="on-frontier"><td>lean</td>' in section
