"""The `cost:` settings and the money arithmetic: prices are stated, never invented."""

from __future__ import annotations

from typing import Any

import pytest

from harness.cost.money import money_for_run, per_unit
from harness.cost.settings import STATED, CostSettings, CostSettingsError, parse_cost_settings

WHERE = "configs/x.yaml"


def test_no_cost_block_means_no_price_and_default_power_figures() -> None:
    settings = parse_cost_settings(None, WHERE)
    assert settings == CostSettings()
    assert not settings.priced
    money = money_for_run(settings, device_seconds=3600, devices=1, output_tokens=10**6)
    assert (money.amount, money.currency, money.source) == (None, None, None)
    assert "no price given" in money.basis


def test_hourly_price_times_devices_times_hours() -> None:
    settings = parse_cost_settings(
        {"price_per_device_hour": 2.5, "currency": "EUR", "price_source": "provider list price"}, WHERE
    )
    money = money_for_run(settings, device_seconds=1800, devices=4, output_tokens=123)
    assert money.amount == pytest.approx(5.0)  # 2.5 x 4 devices x 0.5 h
    assert (money.currency, money.source) == ("EUR", "provider list price")
    assert money.basis == "2.5 EUR per device-hour x 4 devices x 0.5 h"


def test_configured_device_count_wins_over_the_metered_one() -> None:
    settings = parse_cost_settings({"price_per_device_hour": 3.0, "devices": 8}, WHERE)
    money = money_for_run(settings, device_seconds=360, devices=1, output_tokens=0)
    assert money.amount == pytest.approx(2.4)  # a node of 8 GPUs is paid even if one was metered
    assert money.source == STATED


def test_served_api_is_priced_by_the_token() -> None:
    settings = parse_cost_settings(
        {"price_per_million_output_tokens": 0.6, "price_per_million_input_tokens": 0.15}, WHERE
    )
    money = money_for_run(
        settings, device_seconds=99, devices=1, output_tokens=2_000_000, input_tokens=400_000
    )
    assert money.amount == pytest.approx(1.2 + 0.06)
    unknown_input = money_for_run(settings, device_seconds=99, devices=1, output_tokens=2_000_000)
    assert unknown_input.amount is None and "input tokens were not recorded" in unknown_input.basis
    output_only = parse_cost_settings({"price_per_million_output_tokens": 0.6}, WHERE)
    assert money_for_run(output_only, device_seconds=0, devices=1, output_tokens=500_000).amount == 0.3


def test_per_unit_is_none_without_a_total_or_a_count() -> None:
    assert per_unit(10.0, 4) == 2.5
    assert per_unit(None, 4) is None
    assert per_unit(10.0, 0) is None  # no correct answer: no figure, not infinity
    assert per_unit(10.0, None) is None


def test_power_figures_record_their_source() -> None:
    settings = parse_cost_settings({"cpu_watts_per_core": 4, "gpu_watts": 300}, WHERE)
    assert (settings.cpu_watts_per_core, settings.cpu_power_source) == (4.0, STATED)
    assert (settings.gpu_watts, settings.gpu_power_source) == (300.0, STATED)
    sourced = parse_cost_settings({"gpu_watts": 400, "gpu_power_source": "A100 SXM datasheet"}, WHERE)
    assert sourced.gpu_power_source == "A100 SXM datasheet"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([1], "cost: expected a mapping, got list"),
        ({"price": 1}, "cost.price: unknown field"),
        ({"price_per_device_hour": "2 USD"}, "cost.price_per_device_hour: expected a number, got '2 USD'"),
        ({"price_per_device_hour": -1}, "cost.price_per_device_hour: must be >= 0"),
        ({"price_per_device_hour": float("nan")}, "expected a number"),
        ({"cpu_watts_per_core": 0}, "cost.cpu_watts_per_core: must be > 0"),
        ({"price_per_device_hour": True}, "expected a number, got True"),
        ({"price_per_device_hour": 1, "price_per_million_output_tokens": 1}, "either price_per_device_hour"),
        ({"price_per_million_input_tokens": 1}, "needs price_per_million_output_tokens too"),
        ({"devices": 2}, "cost.devices: only applies with price_per_device_hour"),
        ({"price_per_device_hour": 1, "devices": 0}, "cost.devices: expected a positive integer"),
        ({"currency": ""}, "cost.currency: expected a non-empty text"),
        ({"gpu_power_source": "x"}, "given without gpu_watts"),
        ({"measure_energy": "yes"}, "cost.measure_energy: expected true or false"),
    ],
)
def test_bad_settings_name_the_file_and_field(raw: Any, message: str) -> None:
    with pytest.raises(CostSettingsError) as caught:
        parse_cost_settings(raw, WHERE)
    assert str(caught.value).startswith(f"{WHERE}: cost")
    assert message in str(caught.value)
