"""The score file's cost fields: energy and money for the run, per problem and per correct answer.

The last test runs the embedded model for real under the meter and prints the block it gets.
"""

from __future__ import annotations

import json

import pytest

from harness.cost.block import RunTotals, cost_block, gpu_count, run_cost_block
from harness.cost.meter import start_energy_meter
from harness.cost.money import Money
from harness.cost.readings import EnergyMeasurement, EnergyReading
from harness.cost.settings import CostSettings

GPU = EnergyReading("gpu0", 3600.0, "measured", "nvml-energy-counter", "H100 counter")
CPU = EnergyReading("cpu (this process)", 400.0, "estimated", "cpu-time", "64 CPU-s x 6.25 W")
TOTALS = RunTotals(problems=30, samples=120, correct=8, generated_tokens=240_000, wall_seconds=720.0)


def test_block_divides_the_run_totals() -> None:
    measurement = EnergyMeasurement((GPU, CPU), seconds=600.0)
    block = run_cost_block(
        measurement, CostSettings(price_per_device_hour=4.0, price_source="list price"), TOTALS
    )
    assert block["energy_joules"] == 4000.0
    assert block["energy_kind"] == "estimated"
    assert (
        block["energy_method"]
        == "gpu0: nvml-energy-counter (measured); cpu (this process): cpu-time (estimated)"
    )
    assert block["energy_seconds"] == 600.0
    assert [p["device"] for p in block["energy_parts"]] == ["gpu0", "cpu (this process)"]
    assert block["energy_parts"][0] == {
        "device": "gpu0",
        "joules": 3600.0,
        "kind": "measured",
        "method": "nvml-energy-counter",
        "detail": "H100 counter",
    }
    assert block["money"] == pytest.approx(0.8)  # 4 per device-hour x 1 GPU x 0.2 h
    assert (block["currency"], block["price_source"]) == ("USD", "list price")
    assert block["price_basis"] == "4 USD per device-hour x 1 device x 0.2 h"
    assert block["per_problem"] == {
        "count": 30,
        "energy_joules": 133.333,
        "money": pytest.approx(0.02666667),
        "generated_tokens": 8000.0,
        "wall_seconds": 24.0,
    }
    assert block["per_correct"] == {
        "count": 8,
        "energy_joules": 500.0,
        "money": pytest.approx(0.1),
        "generated_tokens": 30000.0,
        "wall_seconds": 90.0,
    }
    json.dumps(block)  # plain JSON values only


def test_no_correct_answer_and_unknown_energy_give_none_not_zero() -> None:
    remote = EnergyReading("remote server", None, "unknown", "remote", "served elsewhere")
    totals = RunTotals(problems=5, samples=5, correct=0, generated_tokens=100, wall_seconds=10.0)
    block = cost_block(EnergyMeasurement((remote,), 10.0), Money(None, None, "no price given", None), totals)
    assert (block["energy_joules"], block["energy_kind"], block["money"]) == (None, "unknown", None)
    assert block["per_problem"]["energy_joules"] is None
    assert block["per_problem"]["generated_tokens"] == 20.0
    assert block["per_correct"] == {
        "count": 0,
        "energy_joules": None,
        "money": None,
        "generated_tokens": None,
        "wall_seconds": None,
    }


def test_hourly_price_counts_the_metered_gpus() -> None:
    two = EnergyMeasurement(
        (GPU, EnergyReading("gpu1", 1.0, "measured", "nvml-energy-counter", "x"), CPU), 1.0
    )
    assert gpu_count(two) == 2
    assert gpu_count(EnergyMeasurement((CPU,), 1.0)) == 1
    block = run_cost_block(two, CostSettings(price_per_device_hour=1.0), TOTALS)
    assert block["money"] == pytest.approx(0.4)  # 1 x 2 GPUs x 0.2 h


@pytest.mark.slow
def test_cost_block_of_a_real_generation_on_the_embedded_model() -> None:
    from harness.backends.hf import HFBackend
    from harness.data import load_problems
    from harness.tasks.sample import SAMPLE_MATH
    from harness.types import ChatMessage, ModelSpec, Request, Sampling

    settings = CostSettings(price_per_device_hour=0.10, price_source="example price for this test")
    meter = start_energy_meter(settings, backend="hf", device="cpu")  # model loading counts too
    backend = HFBackend(ModelSpec("smollm2", "hf", "smollm2-135m-instruct", device="cpu", batch_size=4))
    problems = load_problems(SAMPLE_MATH, limit=4).problems
    sampling = Sampling(temperature=0.0, max_new_tokens=24)
    requests = [
        Request(
            "sample-math",
            p.id,
            0,
            (ChatMessage("user", SAMPLE_MATH.prompt_template.replace("{problem}", p.prompt)),),
            sampling,
            seed=0,
        )
        for p in problems
    ]
    completions = list(backend.generate(requests))
    measurement = meter.stop()
    backend.close()
    by_id = {p.id: p for p in problems}
    correct = sum(SAMPLE_MATH.grader.score(by_id[c.problem_id], c).correct for c in completions)
    tokens = sum(c.output_tokens for c in completions)
    totals = RunTotals(len(problems), len(completions), correct, tokens, measurement.seconds)
    block = run_cost_block(measurement, settings, totals)
    print(json.dumps(block, indent=2))

    # This machine has no readable RAPL, so the CPU part is the CPU-time estimate; with RAPL, measured.
    assert [p["device"] for p in block["energy_parts"]] in (["cpu (this process)"], ["cpu package-0"])
    assert block["energy_kind"] in ("estimated", "measured")
    assert block["energy_joules"] > 0
    if block["energy_kind"] == "estimated":
        detail = block["energy_parts"][0]["detail"]
        cpu_seconds = float(detail.split(" CPU-seconds")[0])
        assert block["energy_joules"] == pytest.approx(cpu_seconds * 6.25, abs=0.01)
    assert block["per_problem"]["count"] == 4
    assert block["per_problem"]["energy_joules"] == round(measurement.joules / 4, 3)
    assert block["per_problem"]["generated_tokens"] == tokens / 4
    assert block["money"] == pytest.approx(0.10 * measurement.seconds / 3600, abs=1e-6)
    assert block["per_correct"]["count"] == correct
