"""The cost frontier of each leaderboard column: which models no other model beats on both accuracy and cost.

Cost is per problem, from the score file's `cost` block (harness/cost/block.py): energy in joules
(labelled measured or estimated) and money in the currency the run was priced in. A model is on the
frontier of a cost when no other model of the same column is at least as accurate for at most the same
cost and strictly better in one of the two. A score file without the block (older runs), a run whose
energy could not be metered (a remote server) or one without a price has an unknown cost: shown as
unknown, never as zero, and never on the frontier, since nothing can be said about what it saves.
Money is only compared within one currency.

The frontier uses the observed accuracies; the rank intervals beside them say which of those
differences the data supports.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.reporting.leaderboard import Cell, ColumnKey, Leaderboard, ModelKey

UNKNOWN = "unknown"


@dataclass(frozen=True)
class CostPoint:
    """One model in one column: its accuracy and its cost per problem, known or not."""

    row: ModelKey
    accuracy: float
    energy_joules: float | None  # per problem; None when unknown
    energy_kind: str  # measured, estimated or unknown
    money: float | None  # per problem; None when unknown
    currency: str | None
    on_energy_frontier: bool
    on_money_frontier: bool


@dataclass(frozen=True)
class ColumnFrontier:
    column: ColumnKey
    points: tuple[CostPoint, ...]  # in the board's row order


def pareto_front(points: Mapping[str, tuple[float, float]]) -> set[str]:
    """Keys of the (accuracy, cost) points that no other point dominates.

    q dominates p when q is at least as accurate for at most the same cost and better in one of them;
    two models with equal accuracy and cost are both on the frontier.
    """
    front = set()
    for key, (accuracy, cost) in points.items():
        dominated = any(
            a >= accuracy and c <= cost and (a > accuracy or c < cost)
            for other, (a, c) in points.items()
            if other != key
        )
        if not dominated:
            front.add(key)
    return front


def _amount(value: Any) -> float | None:
    """A non-negative finite number from a score file, else None (unknown): never a made-up zero."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) and value >= 0 else None


def cost_per_problem(cell: Cell) -> tuple[float | None, str, float | None, str | None]:
    """(joules, energy kind, money, currency) per problem from a score file's cost block."""
    cost = cell.record.cost
    per_problem = cost.get("per_problem")
    if not isinstance(per_problem, Mapping):
        return None, UNKNOWN, None, None
    joules = _amount(per_problem.get("energy_joules"))
    kind = str(cost.get("energy_kind") or UNKNOWN) if joules is not None else UNKNOWN
    money = _amount(per_problem.get("money"))
    currency = cost.get("currency")
    return joules, kind, money, (str(currency) if currency and money is not None else None)


def has_cost_blocks(lb: Leaderboard) -> bool:
    """Whether any score file of the board carries the cost block (files from before it never do)."""
    return any(isinstance(cell.record.cost.get("per_problem"), Mapping) for cell in lb.cells.values())


def column_frontier(lb: Leaderboard, column: ColumnKey) -> ColumnFrontier:
    rows = [row for row in lb.rows if (row, column) in lb.cells]
    costs = {row: cost_per_problem(lb.cells[(row, column)]) for row in rows}
    accuracy = {row: lb.cells[(row, column)].accuracy for row in rows}
    labels = {row: str(i) for i, row in enumerate(rows)}
    energy_front = pareto_front(
        {labels[r]: (accuracy[r], joules) for r, (joules, _, _, _) in costs.items() if joules is not None}
    )
    money_front: set[str] = set()
    for currency in {c for _, _, m, c in costs.values() if m is not None}:
        money_front |= pareto_front(
            {
                labels[r]: (accuracy[r], m)
                for r, (_, _, m, c) in costs.items()
                if m is not None and c == currency
            }
        )
    points = tuple(
        CostPoint(
            row=row,
            accuracy=accuracy[row],
            energy_joules=costs[row][0],
            energy_kind=costs[row][1],
            money=costs[row][2],
            currency=costs[row][3],
            on_energy_frontier=labels[row] in energy_front,
            on_money_frontier=labels[row] in money_front,
        )
        for row in rows
    )
    return ColumnFrontier(column, points)


def cost_frontiers(lb: Leaderboard) -> list[ColumnFrontier]:
    """A frontier per column, or none at all when no score file of the board has a cost block."""
    if not has_cost_blocks(lb):
        return []
    return [column_frontier(lb, column) for column in lb.columns]


def energy_text(point: CostPoint) -> str:
    if point.energy_joules is None:
        return UNKNOWN
    return f"{point.energy_joules:.4g} J ({point.energy_kind})"


def money_text(point: CostPoint) -> str:
    if point.money is None:
        return UNKNOWN
    return f"{point.money:.4g} {point.currency or ''}".rstrip()


def frontier_text(point: CostPoint) -> str:
    """Which frontiers the model is on: `energy, money`, one of them, or `–`."""
    marks = [
        name for name, on in (("energy", point.on_energy_frontier), ("money", point.on_money_frontier)) if on
    ]
    return ", ".join(marks) or "–"


def frontier_rows(frontiers: Sequence[ColumnFrontier], lb: Leaderboard) -> list[list[str]]:
    """The frontier table as text cells: column, model, accuracy %, energy and money per problem, frontier."""
    return [
        [
            lb.column_labels[f.column],
            " ".join(part for part in (p.row.name, p.row.backend, p.row.dtype, p.row.revision[:12]) if part),
            f"{100 * p.accuracy:.1f}",
            energy_text(p),
            money_text(p),
            frontier_text(p),
        ]
        for f in frontiers
        for p in f.points
    ]


FRONTIER_EXPLAINED = (
    "Accuracy against cost per problem, from each score file's cost block. A model is on the frontier "
    "of a cost when no other model in its column is as accurate for less or more accurate for as much; "
    "an unknown cost (no cost block, energy not metered, no price) is never counted as zero and never "
    "on the frontier; money is compared within one currency."
)
FRONTIER_HEADER = (
    "column",
    "model",
    "accuracy %",
    "energy per problem",
    "money per problem",
    "on the frontier of",
)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def frontier_markdown(lb: Leaderboard) -> list[str]:
    """The board's Markdown section (empty when no score file has a cost block)."""
    frontiers = cost_frontiers(lb)
    if not frontiers:
        return []
    lines = ["", "## Cost frontier", "", FRONTIER_EXPLAINED, ""]
    lines.append("| " + " | ".join(FRONTIER_HEADER) + " |")
    lines.append("|" + "---|" * len(FRONTIER_HEADER))
    lines += ["| " + " | ".join(_md(v) for v in row) + " |" for row in frontier_rows(frontiers, lb)]
    return lines


def frontier_points(lb: Leaderboard) -> dict[tuple[ModelKey, ColumnKey], CostPoint]:
    return {(p.row, f.column): p for f in cost_frontiers(lb) for p in f.points}


def point_json(point: CostPoint) -> dict[str, Any]:
    return {
        "energy_joules_per_problem": point.energy_joules,
        "energy_kind": point.energy_kind,
        "money_per_problem": point.money,
        "currency": point.currency,
        "on_energy_frontier": point.on_energy_frontier,
        "on_money_frontier": point.on_money_frontier,
    }
