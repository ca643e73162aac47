"""Estimates from CPU time or GPU wall time and a stated power figure."""

from __future__ import annotations

import subprocess
import sys

import pytest

from harness.cost.estimate import (
    DEFAULT_CPU_POWER_SOURCE,
    DEFAULT_CPU_WATTS_PER_CORE,
    CpuTimeEstimate,
    GpuTimeEstimate,
    process_cpu_seconds,
)


class Counter:
    def __init__(self, value: float) -> None:
        self.value = value

    def __call__(self) -> float:
        return self.value


def test_cpu_estimate_multiplies_cpu_seconds_by_the_stated_figure() -> None:
    seconds = Counter(10.0)
    estimate = CpuTimeEstimate(8.0, "my CPU's TDP / cores", cpu_seconds=seconds, why="no RAPL: absent")
    estimate.start()
    seconds.value = 22.5  # 12.5 CPU-seconds of work
    (reading,) = estimate.stop()
    assert (reading.joules, reading.kind, reading.method) == (100.0, "estimated", "cpu-time")
    assert reading.detail == (
        "12.500 CPU-seconds of this process and its children x 8 W per busy core (my CPU's TDP / cores); "
        "no RAPL: absent"
    )


def test_default_figure_names_its_source() -> None:
    assert DEFAULT_CPU_WATTS_PER_CORE == 350 / 56  # Xeon Platinum 8480+: 350 W TDP, 56 cores
    assert "Intel" in DEFAULT_CPU_POWER_SOURCE and "8480+" in DEFAULT_CPU_POWER_SOURCE
    estimate = CpuTimeEstimate(cpu_seconds=Counter(0.0))
    estimate.start()
    assert DEFAULT_CPU_POWER_SOURCE in estimate.stop()[0].detail


def test_process_cpu_seconds_counts_real_work_and_finished_children() -> None:
    before = process_cpu_seconds()
    total = 0
    for i in range(3_000_000):  # about 0.2 s of CPU in this process
        total += i * i
    child = "s = 0\nfor i in range(3_000_000): s += i * i"
    subprocess.run([sys.executable, "-c", child], check=True)
    used = process_cpu_seconds() - before
    assert total > 0 and used > 0.1


def test_gpu_estimate_multiplies_wall_time_by_watts_for_each_gpu() -> None:
    clock = Counter(50.0)
    estimate = GpuTimeEstimate(700.0, 2, "H100 SXM board power, NVIDIA datasheet", clock=clock, why="no NVML")
    estimate.start()
    clock.value = 60.0
    readings = estimate.stop()
    assert [(r.device, r.joules, r.kind, r.method) for r in readings] == [
        ("gpu0", 7000.0, "estimated", "gpu-time"),
        ("gpu1", 7000.0, "estimated", "gpu-time"),
    ]
    assert (
        readings[0].detail == "10.000 wall seconds x 700 W (H100 SXM board power, NVIDIA datasheet); no NVML"
    )


@pytest.mark.parametrize("watts", [0.0, -1.0])
def test_power_figures_must_be_positive(watts: float) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        CpuTimeEstimate(watts)
    with pytest.raises(ValueError, match="must be positive"):
        GpuTimeEstimate(watts, 1, "x")
