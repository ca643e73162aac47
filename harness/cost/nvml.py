"""GPU energy from NVML (NVIDIA's management library) through nvidia-ml-py, imported only when used.

Per GPU, the best source the device offers:
1. `nvmlDeviceGetTotalEnergyConsumption`: the board's energy counter in millijoules since the driver
   loaded (Volta and newer); two reads around the run give its energy exactly.
2. otherwise `nvmlDeviceGetPowerUsage` (milliwatts, board power) sampled on a background thread and
   integrated with the trapezoid rule; a first and a last sample are taken at start and stop, so a
   constant draw integrates exactly and the error is bounded by how fast the power changes.
3. otherwise the GPU is reported as unknown, with NVML's reason.
Both sources cover the whole board and every process using it.

The module `nvml` is anything with pynvml's functions (tests pass a fake one); `load_nvml` imports
the real library and raises NvmlUnavailable, with the reason, where it or the driver is missing.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.cost.poller import Poller
from harness.cost.readings import EnergyReading

DEFAULT_SAMPLE_S = 0.1  # NVML refreshes board power every 20-100 ms on recent GPUs


class NvmlUnavailable(RuntimeError):
    """NVML cannot be used here (library not installed, no driver, no GPU); the message says which."""


def load_nvml() -> Any:
    """Imports nvidia-ml-py and initialises NVML; the caller must call nvmlShutdown()."""
    try:
        import pynvml
    except ImportError:
        raise NvmlUnavailable("nvidia-ml-py is not installed (pip install nvidia-ml-py)") from None
    init_nvml(pynvml)
    return pynvml


def init_nvml(nvml: Any) -> None:
    try:
        nvml.nvmlInit()
    except nvml.NVMLError as error:
        raise NvmlUnavailable(f"NVML could not start: {error} (no NVIDIA driver on this machine?)") from None


def visible_device_indices(nvml: Any, visible: str | None) -> list[int]:
    """NVML indices of the GPUs this process may use: CUDA_VISIBLE_DEVICES's entries when it is set
    (indices or GPU-UUID prefixes), every GPU otherwise."""
    count = int(nvml.nvmlDeviceGetCount())
    if visible is None or not visible.strip():
        return list(range(count))
    uuids = [_text(nvml.nvmlDeviceGetUUID(nvml.nvmlDeviceGetHandleByIndex(i))) for i in range(count)]
    chosen: list[int] = []
    for entry in (part.strip() for part in visible.split(",")):
        if entry.isdigit():
            index: int | None = int(entry) if int(entry) < count else None
        else:
            index = next((i for i, uuid in enumerate(uuids) if entry and uuid.startswith(entry)), None)
        if index is None:
            break  # CUDA ignores everything from the first invalid entry on
        chosen.append(index)
    return chosen


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass
class _Gpu:
    index: int
    name: str
    handle: Any
    source: str  # "counter", "power" or "none"
    reason: str = ""
    start_mj: int = 0
    samples: list[tuple[float, float]] = field(default_factory=list)  # (seconds, watts)


class NvmlMeter:
    """Energy of each chosen GPU between start() and stop()."""

    def __init__(
        self,
        nvml: Any,
        indices: Sequence[int] | None = None,
        sample_s: float = DEFAULT_SAMPLE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.nvml = nvml
        self._indices = indices
        self._sample_s = sample_s
        self._clock = clock
        self._gpus: list[_Gpu] = []
        self._poller: Poller | None = None

    def start(self) -> None:
        nvml = self.nvml
        indices = self._indices
        if indices is None:
            indices = visible_device_indices(nvml, os.environ.get("CUDA_VISIBLE_DEVICES"))
        for index in indices:
            try:
                handle = nvml.nvmlDeviceGetHandleByIndex(index)
                name = _text(nvml.nvmlDeviceGetName(handle))
            except nvml.NVMLError as error:
                self._gpus.append(_Gpu(index, f"GPU {index}", None, "none", reason=f"not readable ({error})"))
                continue
            self._gpus.append(self._open(index, name, handle))
        if any(gpu.source == "power" for gpu in self._gpus):
            self._poller = Poller(self.sample_power, self._sample_s, "harness-nvml-power")
            self._poller.start()

    def _open(self, index: int, name: str, handle: Any) -> _Gpu:
        nvml = self.nvml
        try:
            return _Gpu(
                index, name, handle, "counter", start_mj=int(nvml.nvmlDeviceGetTotalEnergyConsumption(handle))
            )
        except nvml.NVMLError as counter_error:
            gpu = _Gpu(index, name, handle, "power", reason=f"no energy counter ({counter_error})")
        try:
            gpu.samples.append((self._clock(), nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0))
        except nvml.NVMLError as power_error:
            gpu.source, gpu.reason = "none", f"{gpu.reason}; no power reading ({power_error})"
        return gpu

    def sample_power(self) -> None:
        """Takes one power sample of every GPU that has no energy counter."""
        for gpu in self._gpus:
            if gpu.source == "power":
                watts = self.nvml.nvmlDeviceGetPowerUsage(gpu.handle) / 1000.0
                gpu.samples.append((self._clock(), watts))

    def stop(self) -> list[EnergyReading]:
        """One reading per GPU; a GPU whose readings failed mid-run is unknown, the run goes on."""
        nvml, poller, self._poller = self.nvml, self._poller, None
        try:
            if poller is not None:
                try:
                    poller.stop()  # its last poll is the final sample
                except nvml.NVMLError as error:
                    for gpu in self._gpus:
                        if gpu.source == "power":
                            gpu.source, gpu.reason = "none", f"power sampling failed mid-run ({error})"
            return [self._reading(gpu) for gpu in self._gpus]
        finally:
            nvml.nvmlShutdown()

    def _reading(self, gpu: _Gpu) -> EnergyReading:
        device = f"gpu{gpu.index}"
        if gpu.source == "counter":
            try:
                end_mj = int(self.nvml.nvmlDeviceGetTotalEnergyConsumption(gpu.handle))
            except self.nvml.NVMLError as error:
                end_mj, gpu.reason = -1, f"the energy counter could not be read at the end ({error})"
            if end_mj < gpu.start_mj:
                gpu.reason = gpu.reason or "the energy counter went backwards (driver reloaded?)"
                return EnergyReading(
                    device, None, "unknown", "nvml-energy-counter", f"{gpu.name}: {gpu.reason}"
                )
            detail = f"NVML total energy counter of {gpu.name} (whole board, all processes on it)"
            joules = (end_mj - gpu.start_mj) / 1000.0
            return EnergyReading(device, joules, "measured", "nvml-energy-counter", detail)
        if gpu.source == "power":
            joules = trapezoid_joules(gpu.samples)
            detail = (
                f"NVML board power of {gpu.name} sampled every {self._sample_s:g} s "
                f"({len(gpu.samples)} samples) and integrated; {gpu.reason}"
            )
            return EnergyReading(device, joules, "measured", "nvml-power-sampling", detail)
        return EnergyReading(device, None, "unknown", "nvml", f"{gpu.name}: {gpu.reason}")


def trapezoid_joules(samples: Sequence[tuple[float, float]]) -> float:
    """Energy of a power curve given as (seconds, watts) samples in time order."""
    return sum((t1 - t0) * (w0 + w1) / 2 for (t0, w0), (t1, w1) in itertools.pairwise(samples))
