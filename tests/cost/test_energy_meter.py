"""Which meters a run gets: NVML, RAPL or an estimate per part, and unknown for a remote server."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_nvml import FakeGpu, FakeNvml
from powercap_tree import write, zone

from harness.cost.block import gpu_count
from harness.cost.meter import start_energy_meter
from harness.cost.readings import EnergyMeasurement, EnergyReading, combine
from harness.cost.settings import CostSettings


@pytest.fixture
def no_rapl(tmp_path: Path) -> Path:
    return tmp_path / "no-powercap"


def run_meter(settings: CostSettings, backend: str, device: str, **kwargs: object) -> EnergyMeasurement:
    kwargs.setdefault("nvidia_proc", Path("/nonexistent/nvidia"))
    meter = start_energy_meter(settings, backend=backend, device=device, **kwargs)  # type: ignore[arg-type]
    return meter.stop()


@pytest.mark.parametrize(
    ("backend", "settings", "device", "why"),
    [
        ("openai", CostSettings(), "remote server", "a server the harness cannot meter (backend openai)"),
        ("replay", CostSettings(), "replayed completions", "no generation ran here"),
        ("hf", CostSettings(measure_energy=False), "all", "cost.measure_energy: false"),
    ],
)
def test_unmetered_runs_are_unknown_not_zero(
    backend: str, settings: CostSettings, device: str, why: str
) -> None:
    nvml = FakeNvml([FakeGpu("H100", "GPU-1")])
    measurement = run_meter(settings, backend, "auto", nvml=nvml)
    (reading,) = measurement.readings
    assert (reading.device, reading.joules, reading.kind) == (device, None, "unknown")
    assert why in reading.detail
    assert (measurement.joules, measurement.kind) == (None, "unknown")
    assert nvml.initialised == 0


def test_cpu_run_with_rapl_is_measured(tmp_path: Path) -> None:
    counter = zone(tmp_path, "intel-rapl:0", "package-0", 0)
    meter = start_energy_meter(CostSettings(), backend="hf", device="cpu", powercap_root=tmp_path)
    write(counter, 42_000_000)
    measurement = meter.stop()
    assert (measurement.joules, measurement.kind) == (42.0, "measured")
    assert measurement.method == "cpu package-0: rapl (measured)"


def test_cpu_run_without_rapl_is_estimated_and_says_why(no_rapl: Path) -> None:
    settings = CostSettings(cpu_watts_per_core=5.0, cpu_power_source="test figure")
    measurement = run_meter(settings, "llamacpp", "auto", powercap_root=no_rapl, nvml=FakeNvml([]))
    (reading,) = measurement.readings
    assert (reading.device, reading.kind, reading.method) == ("cpu (this process)", "estimated", "cpu-time")
    assert f"no RAPL counter: {no_rapl} does not exist" in reading.detail
    assert "x 5 W per busy core (test figure)" in reading.detail
    assert measurement.kind == "estimated"


def test_gpu_run_with_nvml_and_rapl_is_measured(tmp_path: Path) -> None:
    counter = zone(tmp_path, "intel-rapl:0", "package-0", 0)
    gpu = FakeGpu("NVIDIA H200", "GPU-1", energy_mj=1_000)
    nvml = FakeNvml([gpu])
    meter = start_energy_meter(CostSettings(), backend="hf", device="auto", nvml=nvml, powercap_root=tmp_path)
    gpu.energy_mj = 501_000  # 500 J
    write(counter, 20_000_000)  # 20 J
    measurement = meter.stop()
    assert [(r.device, r.joules, r.kind) for r in measurement.readings] == [
        ("gpu0", 500.0, "measured"),
        ("cpu package-0", 20.0, "measured"),
    ]
    assert (measurement.joules, measurement.kind) == (520.0, "measured")
    assert nvml.initialised == 0


def test_gpu_measured_cpu_estimated_is_estimated_overall(no_rapl: Path) -> None:
    nvml = FakeNvml([FakeGpu("NVIDIA H200", "GPU-1")])
    measurement = run_meter(CostSettings(), "vllm", "cuda", nvml=nvml, powercap_root=no_rapl)
    assert measurement.kind == "estimated"
    assert (
        measurement.method == "gpu0: nvml-energy-counter (measured); cpu (this process): cpu-time (estimated)"
    )


def test_cuda_n_meters_only_that_gpu(no_rapl: Path) -> None:
    gpus = [FakeGpu("A", "GPU-1"), FakeGpu("B", "GPU-2")]
    measurement = run_meter(CostSettings(), "hf", "cuda:1", nvml=FakeNvml(gpus), powercap_root=no_rapl)
    assert [r.device for r in measurement.readings] == ["gpu1", "cpu (this process)"]


def test_no_gpu_on_auto_meters_the_cpu_only(no_rapl: Path) -> None:
    nvml = FakeNvml([])  # a driver but no GPU
    measurement = run_meter(CostSettings(), "hf", "auto", nvml=nvml, powercap_root=no_rapl)
    assert [r.device for r in measurement.readings] == ["cpu (this process)"]
    assert nvml.initialised == 0
    no_driver = run_meter(
        CostSettings(), "hf", "auto", nvml=FakeNvml([], driver=False), powercap_root=no_rapl
    )
    assert [r.device for r in no_driver.readings] == ["cpu (this process)"]


def test_gpu_without_nvml_is_estimated_from_a_stated_figure_or_unknown(tmp_path: Path, no_rapl: Path) -> None:
    proc = tmp_path / "nvidia-gpus"  # the driver's /proc folder: one entry per GPU
    for bus in ("0000:01:00.0", "0000:02:00.0"):
        (proc / bus).mkdir(parents=True)
    blind = FakeNvml([], driver=False)
    settings = CostSettings(gpu_watts=300.0, gpu_power_source="board power limit")
    estimated = run_meter(settings, "hf", "auto", nvml=blind, nvidia_proc=proc, powercap_root=no_rapl)
    gpus = [r for r in estimated.readings if r.method == "gpu-time"]
    assert [(r.device, r.kind) for r in gpus] == [("gpu0", "estimated"), ("gpu1", "estimated")]
    assert "wall seconds x 300 W (board power limit); NVML could not start" in gpus[0].detail
    assert gpu_count(estimated) == 2  # an hourly price pays for both
    unknown = run_meter(CostSettings(), "hf", "cuda", nvml=blind, powercap_root=no_rapl)
    assert (unknown.readings[0].kind, unknown.joules) == ("unknown", None)
    assert "set cost.gpu_watts to estimate" in unknown.readings[0].detail


def test_device_cpu_never_touches_nvml(no_rapl: Path) -> None:
    nvml = FakeNvml([FakeGpu("H100", "GPU-1")])
    run_meter(CostSettings(), "hf", "cpu", nvml=nvml, powercap_root=no_rapl)
    assert nvml.initialised == 0 and nvml.power_reads == 0


def test_sessions_of_one_run_add_up() -> None:
    first = EnergyMeasurement(
        (
            EnergyReading("gpu0", 100.0, "measured", "nvml-energy-counter", "H100"),
            EnergyReading("cpu (this process)", 5.0, "estimated", "cpu-time", "1 CPU-s"),
        ),
        10.0,
    )
    second = EnergyMeasurement((EnergyReading("gpu0", 50.0, "measured", "nvml-energy-counter", "H100"),), 4.0)
    total = combine([first, second])
    assert [(r.device, r.joules) for r in total.readings] == [("gpu0", 150.0), ("cpu (this process)", 5.0)]
    assert (total.seconds, total.joules, total.kind) == (14.0, 155.0, "estimated")
    assert EnergyMeasurement.from_dict(total.to_dict()) == total
    remote = EnergyMeasurement((EnergyReading("remote server", None, "unknown", "remote", "served"),), 3.0)
    assert combine([total, remote]).joules is None


def test_readings_refuse_inconsistent_figures() -> None:
    with pytest.raises(ValueError, match="joules must be None exactly when the kind is unknown"):
        EnergyReading("gpu0", 0.0, "unknown", "nvml", "x")
    with pytest.raises(ValueError, match="joules must be None"):
        EnergyReading("gpu0", None, "measured", "nvml", "x")
    with pytest.raises(ValueError, match="negative energy"):
        EnergyReading("gpu0", -1.0, "measured", "nvml", "x")
    with pytest.raises(ValueError, match="not an energy measurement record"):
        EnergyMeasurement.from_dict({"seconds": 1})
