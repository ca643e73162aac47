"""A stand-in for the pynvml module: the functions the energy meter calls, over scripted GPUs.

Each fake GPU has an energy counter (millijoules, or None where the board has none) and a power
reading (milliwatts, or None) that a test moves between calls; errors are raised as NVMLError
subclasses, as pynvml does.
"""

from __future__ import annotations

from dataclasses import dataclass


class NVMLError(Exception):
    pass


class NVMLError_NotSupported(NVMLError):
    pass


class NVMLError_LibraryNotFound(NVMLError):
    pass


@dataclass
class FakeGpu:
    name: str
    uuid: str
    energy_mj: int | None = 0  # None: no total energy counter on this board
    power_mw: int | None = 0  # None: no power reading either
    lost: bool = False  # True: every call about this GPU fails, as when it falls off the bus


class FakeNvml:
    NVMLError = NVMLError

    def __init__(self, gpus: list[FakeGpu], driver: bool = True) -> None:
        self.gpus = gpus
        self.driver = driver
        self.initialised = 0  # nvmlInit minus nvmlShutdown calls
        self.power_reads = 0

    def nvmlInit(self) -> None:
        if not self.driver:
            raise NVMLError_LibraryNotFound("NVML Shared Library Not Found")
        self.initialised += 1

    def nvmlShutdown(self) -> None:
        self.initialised -= 1

    def nvmlDeviceGetCount(self) -> int:
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> FakeGpu:
        return self.gpus[index]

    def nvmlDeviceGetName(self, handle: FakeGpu) -> str:
        _check(handle)
        return handle.name

    def nvmlDeviceGetUUID(self, handle: FakeGpu) -> bytes:  # older pynvml returns bytes
        return handle.uuid.encode()

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: FakeGpu) -> int:
        _check(handle)
        if handle.energy_mj is None:
            raise NVMLError_NotSupported("Not Supported")
        return handle.energy_mj

    def nvmlDeviceGetPowerUsage(self, handle: FakeGpu) -> int:
        _check(handle)
        if handle.power_mw is None:
            raise NVMLError_NotSupported("Not Supported")
        self.power_reads += 1
        return handle.power_mw


def _check(handle: FakeGpu) -> None:
    if handle.lost:
        raise NVMLError("GPU is lost")
