"""The cost frontier section of the HTML page (the frontier itself is computed in frontier.py)."""

from __future__ import annotations

from harness.reporting.frontier import (
    FRONTIER_EXPLAINED,
    ColumnFrontier,
    cost_frontiers,
    energy_text,
    frontier_text,
    money_text,
)
from harness.reporting.labels import chart_labels
from harness.reporting.labels import esc as _esc
from harness.reporting.labels import model_label as _model_label
from harness.reporting.leaderboard import Leaderboard, ModelKey
from harness.reporting.plots import Point, efficiency_svg


def _frontier_charts(lb: Leaderboard, f: ColumnFrontier, labels: dict[ModelKey, str]) -> list[str]:
    """Accuracy against joules and against money per problem; models of unknown cost are left out."""
    charts = []
    currencies = {p.currency for p in f.points if p.money is not None}
    money_unit = f"{currencies.pop()} per problem" if len(currencies) == 1 else "money per problem"
    for field, unit in (("joules_per_problem", "joules per problem"), ("money_per_problem", money_unit)):
        energy = field == "joules_per_problem"
        known = [p for p in f.points if (p.energy_joules if energy else p.money) is not None]
        if not known:
            continue
        front = {labels[p.row] for p in known if (p.on_energy_frontier if energy else p.on_money_frontier)}
        points = [
            Point(
                labels[p.row],
                p.accuracy,
                lb.cells[(p.row, f.column)].ci95,
                0.0,
                0.0,
                p.energy_joules,
                p.money,
            )
            for p in known
        ]
        title = f"{lb.column_labels[f.column]}: accuracy vs {unit}"
        charts.append(efficiency_svg(points, f"accuracy vs {unit}", field, unit, title, front, ".4g"))
    return charts


def _frontier_table(lb: Leaderboard, f: ColumnFrontier) -> str:
    rows = "".join(
        f'<tr class="{"on-frontier" if p.on_energy_frontier or p.on_money_frontier else ""}">'
        f"<td>{_esc(_model_label(lb, p.row))}</td><td class=num>{100 * p.accuracy:.1f}</td>"
        f"<td class=num>{_esc(energy_text(p))}</td><td class=num>{_esc(money_text(p))}</td>"
        f"<td>{_esc(frontier_text(p))}</td></tr>"
        for p in f.points
    )
    return (
        '<table class="frontier"><thead><tr><th>model</th><th>accuracy %</th><th>energy per problem</th>'
        f"<th>money per problem</th><th>on the frontier of</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def frontier_section(lb: Leaderboard) -> str:
    """Per column: the cost charts with the frontier marked, and the table (nothing without cost blocks)."""
    frontiers = cost_frontiers(lb)
    if not frontiers:
        return ""
    labels, _ = chart_labels(lb)
    parts = []
    for f in frontiers:
        parts.append(f"<h3>{_esc(lb.column_labels[f.column])}</h3>")
        parts += _frontier_charts(lb, f, labels)
        parts.append(_frontier_table(lb, f))
    return (
        f'<section id="frontier"><h2>Cost frontier</h2><p>{_esc(FRONTIER_EXPLAINED)}</p>'
        f'<div class="chart-grid frontier-grid">{"".join(parts)}</div></section>'
    )
