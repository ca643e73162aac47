"""Measures the energy of a span of work (a run's generation) with the best source each part offers.

    meter = start_energy_meter(settings, backend="hf", device="auto")
    ...  # load the model, generate
    measurement = meter.stop()

Parts, in order of preference:
- GPUs (unless the device is "cpu"): NVML (energy counter, else sampled power); where NVML cannot be
  used but an NVIDIA GPU is present or asked for, `gpu_watts` x wall time, else unknown.
- CPU: RAPL package counters where readable, else this process's CPU time x `cpu_watts_per_core`.
- A remote server (backend `openai`) is unknown, never zero; `replay` generates nothing here.

Why these libraries, and not codecarbon: NVML is read through nvidia-ml-py, NVIDIA's own bindings
(one pure-Python module over the driver's libnvidia-ml, no dependencies, nothing started or written
until called). codecarbon (2.8/3.x) reads the same NVML counter and the same RAPL files underneath,
but brings a dozen dependencies (pandas, requests, rich, typer, click, fief-client,
prometheus_client, questionary, rapidfuzz, arrow, py-cpuinfo, pynvml, psutil), looks up the
machine's location over the network (geojs.io, then ipinfo.io, assuming Canada when both fail)
unless its offline tracker is used, writes emissions.csv into the working directory by default,
takes a machine-wide lock file (/tmp/.codecarbon.lock: two shards on one machine clash unless
allow_multiple_runs is set) and installs SIGINT/SIGTERM handlers, and measures on a background
thread every 15 s. Where no counter is readable it falls back to a load curve over machine-wide CPU
utilisation whose constants its own documentation calls unsourced, and it adds an estimated RAM
figure to its total; its result (cpu/gpu/ram energy in kWh) does not say which figure was read from
a counter and which was estimated. What a score file needs, joules per part labelled with how they
were obtained, is a few hundred lines here, with no network, no files and one small optional
dependency.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from harness.cost.estimate import CpuTimeEstimate, GpuTimeEstimate
from harness.cost.nvml import (
    DEFAULT_SAMPLE_S,
    NvmlMeter,
    NvmlUnavailable,
    init_nvml,
    load_nvml,
    visible_device_indices,
)
from harness.cost.rapl import DEFAULT_POLL_S, POWERCAP_ROOT, RaplMeter, RaplUnavailable, find_package_zones
from harness.cost.readings import EnergyMeasurement, EnergyReading
from harness.cost.settings import CostSettings

REMOTE_BACKENDS = frozenset({"openai"})
NVIDIA_PROC = Path("/proc/driver/nvidia/gpus")  # one folder per GPU where the NVIDIA driver is loaded


class Part(Protocol):
    def start(self) -> None: ...

    def stop(self) -> list[EnergyReading]: ...


class Fixed:
    """A part whose reading is known before the work starts (unknown, with the reason)."""

    def __init__(self, reading: EnergyReading) -> None:
        self.reading = reading

    def start(self) -> None:
        pass

    def stop(self) -> list[EnergyReading]:
        return [self.reading]


class EnergyMeter:
    def __init__(self, parts: Sequence[Part], clock: Callable[[], float] = time.monotonic) -> None:
        self.parts = list(parts)
        self._clock = clock
        self._started = clock()

    def stop(self) -> EnergyMeasurement:
        readings: list[EnergyReading] = []
        for part in self.parts:
            readings.extend(part.stop())
        return EnergyMeasurement(tuple(readings), self._clock() - self._started)


def start_energy_meter(
    settings: CostSettings,
    *,
    backend: str,
    device: str,
    nvml: Any | None = None,
    powercap_root: Path = POWERCAP_ROOT,
    nvidia_proc: Path = NVIDIA_PROC,
    rapl_poll_s: float = DEFAULT_POLL_S,
    nvml_sample_s: float = DEFAULT_SAMPLE_S,
) -> EnergyMeter:
    """Starts the meters that apply to a model run by `backend` on `device` (a config's values).

    `nvml` replaces the nvidia-ml-py module (tests pass a fake); `powercap_root` and `nvidia_proc`
    replace the system folders.
    """
    parts = plan_parts(
        settings, backend, device, nvml, powercap_root, nvidia_proc, rapl_poll_s, nvml_sample_s
    )
    started: list[Part] = []
    try:
        for part in parts:
            part.start()
            started.append(part)
    except BaseException:
        for part in started:
            part.stop()
        raise
    return EnergyMeter(parts)


def plan_parts(
    settings: CostSettings,
    backend: str,
    device: str,
    nvml: Any | None,
    powercap_root: Path,
    nvidia_proc: Path,
    rapl_poll_s: float,
    nvml_sample_s: float,
) -> list[Part]:
    if not settings.measure_energy:
        why = "energy measurement is switched off (cost.measure_energy: false)"
        return [Fixed(EnergyReading("all", None, "unknown", "off", why))]
    if backend in REMOTE_BACKENDS:
        why = f"the model runs on a server the harness cannot meter (backend {backend})"
        return [Fixed(EnergyReading("remote server", None, "unknown", "remote", why))]
    if backend == "replay":
        why = "completions were read from a file; no generation ran here"
        return [Fixed(EnergyReading("replayed completions", None, "unknown", "replay", why))]
    parts: list[Part] = []
    if device != "cpu":
        parts.extend(gpu_parts(settings, device, nvml, nvidia_proc, nvml_sample_s))
    parts.append(cpu_part(settings, powercap_root, rapl_poll_s))
    return parts


def gpu_parts(
    settings: CostSettings, device: str, nvml: Any | None, nvidia_proc: Path, sample_s: float
) -> list[Part]:
    try:
        if nvml is None:
            nvml = load_nvml()
        else:
            init_nvml(nvml)
    except NvmlUnavailable as error:
        return _gpu_without_nvml(settings, device, nvidia_proc, str(error))
    try:
        indices = visible_device_indices(nvml, os.environ.get("CUDA_VISIBLE_DEVICES"))
    except nvml.NVMLError as error:
        nvml.nvmlShutdown()
        return _gpu_without_nvml(settings, device, nvidia_proc, f"NVML could not list the GPUs: {error}")
    ordinal = device.removeprefix("cuda:")
    if device.startswith("cuda:") and ordinal.isdigit():  # torch's cuda:N counts the visible GPUs
        indices = indices[int(ordinal) : int(ordinal) + 1]
    if not indices:
        nvml.nvmlShutdown()
        if device == "auto":
            return []  # a machine without GPUs: the CPU does the work
        return _gpu_without_nvml(settings, device, nvidia_proc, f"NVML sees no GPU for device {device!r}")
    return [NvmlMeter(nvml, indices, sample_s)]


def _gpu_without_nvml(settings: CostSettings, device: str, nvidia_proc: Path, why: str) -> list[Part]:
    gpus = len(list(nvidia_proc.iterdir())) if nvidia_proc.is_dir() else 0
    if device == "auto" and gpus == 0:
        return []  # no NVIDIA GPU here, and none was asked for
    if settings.gpu_watts is not None:
        source = settings.gpu_power_source or "stated in the config"
        return [GpuTimeEstimate(settings.gpu_watts, max(gpus, 1), source, why=why)]
    return [Fixed(EnergyReading("gpu", None, "unknown", "nvml", f"{why}; set cost.gpu_watts to estimate"))]


def cpu_part(settings: CostSettings, powercap_root: Path, poll_s: float) -> Part:
    try:
        return RaplMeter(find_package_zones(powercap_root), poll_s)
    except RaplUnavailable as error:
        why = f"no RAPL counter: {error}"
        return CpuTimeEstimate(settings.cpu_watts_per_core, settings.cpu_power_source, why=why)


@contextlib.contextmanager
def energy_recorded(
    settings: CostSettings, *, backend: str, device: str, record: Callable[[EnergyMeasurement], None]
) -> Iterator[EnergyMeter]:
    """Meters the span of the `with` block and hands the measurement to `record` when it ends, however it
    ends (an interrupted session's energy still counts when the run resumes)."""
    meter = start_energy_meter(settings, backend=backend, device=device)
    try:
        yield meter
    finally:
        record(meter.stop())
