"""Energy estimated from time and a stated power figure, where no counter can be read.

CPU: the CPU-seconds this process and its finished children used (user + system, from os.times)
multiplied by a power per busy core. The default figure is the thermal design power per core of a
current server CPU: Intel Xeon Platinum 8480+ (Sapphire Rapids, the AMX-capable generation of the
machines this project runs on), 350 W TDP over 56 cores = 6.25 W per core, from Intel's product
specification (ark.intel.com). TDP is the sustained package power under a heavy all-core load, so the
figure is a plausible ceiling for a busy core and leaves out idle power, DRAM and the rest of the
machine. Set `cpu_watts_per_core` (and `cpu_power_source`) for your CPU.

GPU: the wall seconds of the span multiplied by a stated board power, for each GPU.
There is no default: GPU boards draw from 70 W to 1000 W, so without `gpu_watts` the GPU is unknown.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from harness.cost.readings import EnergyReading

DEFAULT_CPU_WATTS_PER_CORE = 6.25
DEFAULT_CPU_POWER_SOURCE = "TDP per core of Intel Xeon Platinum 8480+ (350 W / 56 cores, Intel ARK)"


def process_cpu_seconds() -> float:
    """User + system CPU time of this process (all threads) and of its children that were waited for."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


class CpuTimeEstimate:
    """CPU-seconds used between start() and stop(), times a power per busy core."""

    def __init__(
        self,
        watts_per_core: float = DEFAULT_CPU_WATTS_PER_CORE,
        source: str = DEFAULT_CPU_POWER_SOURCE,
        cpu_seconds: Callable[[], float] = process_cpu_seconds,
        why: str = "",
    ) -> None:
        if watts_per_core <= 0:
            raise ValueError(f"cpu_watts_per_core must be positive, got {watts_per_core}")
        self.watts_per_core = watts_per_core
        self.source = source
        self._cpu_seconds = cpu_seconds
        self._why = why  # why no counter was used, e.g. "no RAPL: /sys/class/powercap does not exist"
        self._started = 0.0

    def start(self) -> None:
        self._started = self._cpu_seconds()

    def stop(self) -> list[EnergyReading]:
        used = max(0.0, self._cpu_seconds() - self._started)
        detail = (
            f"{used:.3f} CPU-seconds of this process and its children x {self.watts_per_core:g} W "
            f"per busy core ({self.source})"
        )
        if self._why:
            detail += f"; {self._why}"
        return [
            EnergyReading("cpu (this process)", used * self.watts_per_core, "estimated", "cpu-time", detail)
        ]


class GpuTimeEstimate:
    """Wall seconds between start() and stop(), times a stated power per GPU and the GPU count."""

    def __init__(
        self,
        watts_per_gpu: float,
        gpus: int,
        source: str,
        clock: Callable[[], float] = time.monotonic,
        why: str = "",
    ) -> None:
        if watts_per_gpu <= 0 or gpus < 1:
            raise ValueError(f"gpu_watts must be positive and gpus >= 1 (got {watts_per_gpu}, {gpus})")
        self.watts_per_gpu = watts_per_gpu
        self.gpus = gpus
        self.source = source
        self._clock = clock
        self._why = why
        self._started = 0.0

    def start(self) -> None:
        self._started = self._clock()

    def stop(self) -> list[EnergyReading]:
        """One reading per GPU, so a price per device-hour counts each of them."""
        seconds = max(0.0, self._clock() - self._started)
        detail = f"{seconds:.3f} wall seconds x {self.watts_per_gpu:g} W ({self.source})"
        if self._why:
            detail += f"; {self._why}"
        joules = seconds * self.watts_per_gpu
        return [EnergyReading(f"gpu{i}", joules, "estimated", "gpu-time", detail) for i in range(self.gpus)]
