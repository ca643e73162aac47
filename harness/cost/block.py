"""A run's energy and money as the `cost` block of a score file, with per-problem and per-correct figures.

The block adds to the existing cost fields (wall_seconds, generated_tokens, ...); every figure is
derived from the run's totals, so per problem and per correct answer are plain divisions of the same
numbers. With no correct answer, per-correct figures are None rather than infinite.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from harness.cost.money import Money, money_for_run, per_unit
from harness.cost.readings import EnergyMeasurement
from harness.cost.settings import CostSettings


@dataclass(frozen=True)
class RunTotals:
    problems: int  # distinct problems evaluated
    samples: int  # completions (problems x n)
    correct: int | None  # correct samples; None when not graded
    generated_tokens: int
    wall_seconds: float


def gpu_count(measurement: EnergyMeasurement) -> int:
    """Devices an hourly price applies to: the GPUs metered, or 1 (the CPU machine) when none."""
    gpus = {r.device for r in measurement.readings if r.device.startswith("gpu")}
    return max(1, len(gpus))


def cost_block(measurement: EnergyMeasurement, money: Money, totals: RunTotals) -> dict[str, Any]:
    """The energy and money fields of a score file's `cost` block (JSON-ready)."""
    joules = measurement.joules
    return {
        "energy_joules": _round(joules),
        "energy_kind": measurement.kind,
        "energy_method": measurement.method,
        "energy_seconds": round(measurement.seconds, 3),
        "energy_parts": [asdict(r) | {"joules": _round(r.joules)} for r in measurement.readings],
        "money": _round(money.amount, 6),
        "currency": money.currency,
        "price_basis": money.basis,
        "price_source": money.source,
        "per_problem": _shares(joules, money.amount, totals, totals.problems),
        "per_correct": _shares(joules, money.amount, totals, totals.correct),
    }


def _shares(
    joules: float | None, money: float | None, totals: RunTotals, count: int | None
) -> dict[str, Any]:
    return {
        "count": count,
        "energy_joules": _round(per_unit(joules, count)),
        "money": _round(per_unit(money, count), 8),
        "generated_tokens": _round(per_unit(float(totals.generated_tokens), count), 1),
        "wall_seconds": _round(per_unit(totals.wall_seconds, count)),
    }


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def run_cost_block(
    measurement: EnergyMeasurement, settings: CostSettings, totals: RunTotals
) -> dict[str, Any]:
    """The block for a local or served run: an hourly price pays for the run's wall time on its devices."""
    money = money_for_run(
        settings,
        device_seconds=totals.wall_seconds,
        devices=gpu_count(measurement),
        output_tokens=totals.generated_tokens,
    )
    return cost_block(measurement, money, totals)


def describe_cost(cost: Mapping[str, Any]) -> list[str]:
    """Lines for `harness show`: energy (with how it was obtained) and money, per problem and per correct
    answer. Empty for a score file written before energy was metered."""
    if "energy_kind" not in cost:
        return []
    joules = cost.get("energy_joules")
    energy = "unknown" if joules is None else f"{joules:.6g} J ({cost['energy_kind']})"
    lines = [f"energy       {energy}: {cost.get('energy_method', '')}"]
    money = cost.get("money")
    if money is None:
        lines.append(f"money        none: {cost.get('price_basis', 'no price given')}")
    else:
        lines.append(f"money        {money:.6g} {cost.get('currency') or ''} ({cost.get('price_basis', '')})")
    for label, key in (("per problem", "per_problem"), ("per correct", "per_correct")):
        share = cost.get(key) or {}
        parts = [
            f"{share[field]:.6g} {unit}"
            for field, unit in (
                ("energy_joules", "J"),
                ("money", cost.get("currency") or ""),
                ("generated_tokens", "tokens"),
                ("wall_seconds", "s wall"),
            )
            if share.get(field) is not None
        ]
        lines.append(f"{label:<13}{', '.join(parts) or '-'} (n={share.get('count')})")
    return lines
