"""The NVML meter against a fake NVML (same functions, scripted GPUs), and the real library without a GPU."""

from __future__ import annotations

import pytest
from fake_nvml import FakeGpu, FakeNvml

from harness.cost.nvml import NvmlMeter, NvmlUnavailable, init_nvml, trapezoid_joules, visible_device_indices


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_energy_counter_gives_the_difference_in_joules() -> None:
    gpu = FakeGpu("NVIDIA H100 80GB HBM3", "GPU-aaaa", energy_mj=5_000_000)
    nvml = FakeNvml([gpu])
    init_nvml(nvml)
    meter = NvmlMeter(nvml, [0])
    meter.start()
    gpu.energy_mj = 5_000_000 + 123_456  # 123.456 J later
    (reading,) = meter.stop()
    assert (reading.device, reading.joules, reading.kind, reading.method) == (
        "gpu0",
        pytest.approx(123.456),
        "measured",
        "nvml-energy-counter",
    )
    assert "H100" in reading.detail and "whole board" in reading.detail
    assert nvml.initialised == 0  # stop() shut NVML down
    assert nvml.power_reads == 0  # a counter needs no sampling


def test_power_sampling_integrates_when_there_is_no_counter() -> None:
    gpu = FakeGpu("Tesla T4", "GPU-bbbb", energy_mj=None, power_mw=70_000)
    nvml, clock = FakeNvml([gpu]), Clock()
    init_nvml(nvml)
    meter = NvmlMeter(nvml, [0], sample_s=3600, clock=clock)  # samples taken by hand below
    meter.start()  # 70 W at t=100
    for now, milliwatts in ((102.0, 70_000), (104.0, 30_000), (105.0, 30_000)):
        clock.now, gpu.power_mw = now, milliwatts
        meter.sample_power()
    clock.now = 106.0  # stop() takes the last sample: 30 W at t=106
    (reading,) = meter.stop()
    # 2 s at 70 W + 2 s ramping 70 -> 30 W + 2 s at 30 W = 140 + 100 + 60
    assert reading.joules == pytest.approx(300.0)
    assert (reading.kind, reading.method) == ("measured", "nvml-power-sampling")
    assert "no energy counter (Not Supported)" in reading.detail and "5 samples" in reading.detail


def test_power_sampling_runs_on_a_background_thread() -> None:
    gpu = FakeGpu("Tesla T4", "GPU-bbbb", energy_mj=None, power_mw=50_000)
    nvml = FakeNvml([gpu])
    clock = Clock()
    init_nvml(nvml)
    meter = NvmlMeter(nvml, [0], sample_s=0.005, clock=clock)
    meter.start()
    while nvml.power_reads < 5:  # the poller keeps sampling while the run works
        clock.now += 0.001
    clock.now += 1.0
    (reading,) = meter.stop()
    assert reading.joules == pytest.approx(50.0 * (clock.now - 100.0))  # constant power integrates exactly


def test_a_board_without_counter_or_power_is_unknown_not_zero() -> None:
    nvml = FakeNvml([FakeGpu("Old GPU", "GPU-cccc", energy_mj=None, power_mw=None)])
    init_nvml(nvml)
    meter = NvmlMeter(nvml, [0])
    meter.start()
    (reading,) = meter.stop()
    assert (reading.joules, reading.kind) == (None, "unknown")
    assert "no energy counter" in reading.detail and "no power reading" in reading.detail


def test_failures_during_the_run_make_that_gpu_unknown_not_the_run_fail() -> None:
    counter = FakeGpu("A", "GPU-1", energy_mj=5000)
    backwards = FakeGpu("B", "GPU-2", energy_mj=9000)
    sampled = FakeGpu("C", "GPU-3", energy_mj=None, power_mw=100_000)
    nvml = FakeNvml([counter, backwards, sampled])
    init_nvml(nvml)
    meter = NvmlMeter(nvml, [0, 1, 2], sample_s=3600)
    meter.start()
    counter.lost = sampled.lost = True
    backwards.energy_mj = 10  # the driver was reloaded
    readings = meter.stop()
    assert [(r.device, r.joules, r.kind) for r in readings] == [
        ("gpu0", None, "unknown"),
        ("gpu1", None, "unknown"),
        ("gpu2", None, "unknown"),
    ]
    assert "could not be read at the end (GPU is lost)" in readings[0].detail
    assert "went backwards" in readings[1].detail
    assert "power sampling failed mid-run (GPU is lost)" in readings[2].detail
    assert nvml.initialised == 0


def test_a_gpu_lost_before_the_start_is_unknown() -> None:
    nvml = FakeNvml([FakeGpu("A", "GPU-1", lost=True), FakeGpu("B", "GPU-2", energy_mj=0)])
    init_nvml(nvml)
    meter = NvmlMeter(nvml, [0, 1])
    meter.start()
    nvml.gpus[1].energy_mj = 4000
    lost, fine = meter.stop()
    assert (lost.kind, fine.joules) == ("unknown", 4.0)
    assert "not readable (GPU is lost)" in lost.detail


def test_each_gpu_gets_its_own_reading() -> None:
    gpus = [FakeGpu("A", "GPU-1", energy_mj=0), FakeGpu("B", "GPU-2", energy_mj=1000)]
    nvml = FakeNvml(gpus)
    init_nvml(nvml)
    meter = NvmlMeter(nvml, [0, 1])
    meter.start()
    gpus[0].energy_mj, gpus[1].energy_mj = 2000, 11_000
    assert [(r.device, r.joules) for r in meter.stop()] == [("gpu0", 2.0), ("gpu1", 10.0)]


def test_cuda_visible_devices_picks_the_gpus() -> None:
    nvml = FakeNvml([FakeGpu(f"G{i}", f"GPU-{i}{i}{i}-x") for i in range(4)])
    assert visible_device_indices(nvml, None) == [0, 1, 2, 3]
    assert visible_device_indices(nvml, "2,0") == [2, 0]
    assert visible_device_indices(nvml, "GPU-333,GPU-111") == [3, 1]
    assert visible_device_indices(nvml, "1,9,2") == [1]  # CUDA stops at the first invalid entry
    assert visible_device_indices(nvml, "") == [0, 1, 2, 3]


def test_no_driver_is_reported_with_the_reason() -> None:
    with pytest.raises(NvmlUnavailable, match="NVML Shared Library Not Found"):
        init_nvml(FakeNvml([], driver=False))


def test_the_real_library_on_a_machine_without_gpu() -> None:
    pynvml = pytest.importorskip("pynvml")
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        pass
    else:
        pynvml.nvmlShutdown()
        pytest.skip("this machine has an NVIDIA driver")
    with pytest.raises(NvmlUnavailable, match="NVML could not start"):
        init_nvml(pynvml)


def test_trapezoid() -> None:
    assert trapezoid_joules([]) == 0
    assert trapezoid_joules([(0.0, 10.0)]) == 0
    assert trapezoid_joules([(0.0, 0.0), (2.0, 10.0), (3.0, 10.0)]) == pytest.approx(20.0)
