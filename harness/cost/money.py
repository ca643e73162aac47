"""Money for a run, from a price the user stated; per problem and per correct answer for any total.

Local hardware is paid by the device-hour: price x devices x the wall hours the devices were held.
A served API is paid by the token: output tokens (and input tokens, where an input price is given)
times the price per million. No price, no money: the amount is None, never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.cost.settings import CostSettings


@dataclass(frozen=True)
class Money:
    amount: float | None
    currency: str | None
    basis: str  # the arithmetic, e.g. "2.5 USD per device-hour x 1 device x 0.0125 h"
    source: str | None  # where the price comes from, as the config states it


def money_for_run(
    settings: CostSettings,
    *,
    device_seconds: float,
    devices: int,
    output_tokens: int,
    input_tokens: int | None = None,
) -> Money:
    """The run's price. `devices` is used unless the settings name their own device count."""
    currency, source = settings.currency, settings.price_source
    if settings.price_per_device_hour is not None:
        count = settings.devices or devices
        hours = device_seconds / 3600.0
        amount = settings.price_per_device_hour * count * hours
        basis = (
            f"{settings.price_per_device_hour:g} {currency} per device-hour x {count} "
            f"device{'s' if count != 1 else ''} x {hours:.6g} h"
        )
        return Money(amount, currency, basis, source)
    if settings.price_per_million_output_tokens is not None:
        amount = output_tokens * settings.price_per_million_output_tokens / 1e6
        basis = f"{output_tokens} output tokens x {settings.price_per_million_output_tokens:g} {currency}/M"
        if settings.price_per_million_input_tokens is not None:
            if input_tokens is None:
                return Money(None, currency, basis + "; input tokens were not recorded, so no total", source)
            amount += input_tokens * settings.price_per_million_input_tokens / 1e6
            basis += (
                f" + {input_tokens} input tokens x {settings.price_per_million_input_tokens:g} {currency}/M"
            )
        return Money(amount, currency, basis, source)
    return Money(None, None, "no price given (cost.price_per_device_hour or cost.price_per_million_*)", None)


def per_unit(total: float | None, count: int | None) -> float | None:
    """total / count; None when the total is unknown or there is nothing to divide by (no correct answer)."""
    if total is None or not count:
        return None
    return total / count
