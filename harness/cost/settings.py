"""The `cost:` settings of a run: prices (never invented) and the power figures behind estimates.

```yaml
cost:
  price_per_device_hour: 2.50           # or price_per_million_output_tokens (+ _input_) for a served API
  currency: USD
  price_source: "on-demand H100 price of our provider, 2025-06"   # recorded beside the money
  devices: 1                            # devices the hourly price is paid for (default: GPUs metered, else 1)
  cpu_watts_per_core: 6.25              # power figure for the CPU-time estimate where RAPL is unreadable
  cpu_power_source: "Intel ARK: Xeon Platinum 8480+ TDP / cores"
  gpu_watts: 700                        # power figure for a GPU that NVML cannot meter (no default)
  measure_energy: true
```

Without a price there is no money figure (null), never a guessed one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.cost.estimate import DEFAULT_CPU_POWER_SOURCE, DEFAULT_CPU_WATTS_PER_CORE

STATED = "stated in the config, no source given"


class CostSettingsError(ValueError):
    """A `cost:` block that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class CostSettings:
    price_per_device_hour: float | None = None
    price_per_million_output_tokens: float | None = None
    price_per_million_input_tokens: float | None = None
    currency: str = "USD"
    price_source: str | None = None
    devices: int | None = None
    cpu_watts_per_core: float = DEFAULT_CPU_WATTS_PER_CORE
    cpu_power_source: str = DEFAULT_CPU_POWER_SOURCE
    gpu_watts: float | None = None
    gpu_power_source: str | None = None
    measure_energy: bool = True

    @property
    def priced(self) -> bool:
        return self.price_per_device_hour is not None or self.price_per_million_output_tokens is not None


NUMBERS = (
    "price_per_device_hour",
    "price_per_million_output_tokens",
    "price_per_million_input_tokens",
    "cpu_watts_per_core",
    "gpu_watts",
)
TEXTS = ("currency", "price_source", "cpu_power_source", "gpu_power_source")
KEYS = frozenset({*NUMBERS, *TEXTS, "devices", "measure_energy"})


def parse_cost_settings(raw: Any, where: str) -> CostSettings:
    """Validates a config's `cost:` mapping (None or absent means no price, default power figures)."""
    if raw is None:
        return CostSettings()
    if not isinstance(raw, Mapping):
        raise CostSettingsError(f"{where}: cost: expected a mapping, got {type(raw).__name__}")
    unknown = sorted(set(raw) - KEYS)
    if unknown:
        raise CostSettingsError(
            f"{where}: cost.{unknown[0]}: unknown field (known: {', '.join(sorted(KEYS))})"
        )
    values: dict[str, Any] = {}
    for key in NUMBERS:
        if raw.get(key) is not None:
            values[key] = _number(raw[key], where, key, allow_zero=key.startswith("price"))
    for key in TEXTS:
        if raw.get(key) is not None:
            if not isinstance(raw[key], str) or not raw[key].strip():
                raise CostSettingsError(f"{where}: cost.{key}: expected a non-empty text, got {raw[key]!r}")
            values[key] = raw[key].strip()
    if raw.get("devices") is not None:
        devices = raw["devices"]
        if isinstance(devices, bool) or not isinstance(devices, int) or devices < 1:
            raise CostSettingsError(f"{where}: cost.devices: expected a positive integer, got {devices!r}")
        values["devices"] = devices
    if "measure_energy" in raw:
        if not isinstance(raw["measure_energy"], bool):
            raise CostSettingsError(f"{where}: cost.measure_energy: expected true or false")
        values["measure_energy"] = raw["measure_energy"]
    _check_combination(values, where)
    return CostSettings(**values)


def _number(value: Any, where: str, key: str, allow_zero: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise CostSettingsError(f"{where}: cost.{key}: expected a number, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise CostSettingsError(
            f"{where}: cost.{key}: must be {'>= 0' if allow_zero else '> 0'}, got {value}"
        )
    return float(value)


def _check_combination(values: dict[str, Any], where: str) -> None:
    hourly = "price_per_device_hour" in values
    per_token = "price_per_million_output_tokens" in values
    if hourly and per_token:
        raise CostSettingsError(
            f"{where}: cost: give either price_per_device_hour (local hardware) or "
            "price_per_million_output_tokens (a served API), not both"
        )
    if "price_per_million_input_tokens" in values and not per_token:
        raise CostSettingsError(
            f"{where}: cost.price_per_million_input_tokens: needs price_per_million_output_tokens too"
        )
    if "devices" in values and not hourly:
        raise CostSettingsError(f"{where}: cost.devices: only applies with price_per_device_hour")
    if (hourly or per_token) and "price_source" not in values:
        values["price_source"] = STATED
    if "cpu_watts_per_core" in values and "cpu_power_source" not in values:
        values["cpu_power_source"] = STATED
    if "gpu_watts" in values and "gpu_power_source" not in values:
        values["gpu_power_source"] = STATED
    if "gpu_power_source" in values and "gpu_watts" not in values:
        raise CostSettingsError(f"{where}: cost.gpu_power_source: given without gpu_watts")
