"""What an energy measurement says: per device, how many joules, and how the figure was obtained.

A run's measurement is a list of readings, one per metered part (each GPU, the CPU packages or this
process's CPU time, or a remote server). Each reading is labelled `measured` (a hardware counter or
power sensor), `estimated` (time multiplied by a stated power figure) or `unknown` (nothing local can
meter it, e.g. a model served from another machine). Unknown is never zero: a total that includes an
unknown part is itself unknown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

EnergyKind = Literal["measured", "estimated", "unknown"]
KINDS: tuple[EnergyKind, ...] = ("measured", "estimated", "unknown")


@dataclass(frozen=True)
class EnergyReading:
    """The energy of one metered part over the measured span."""

    device: str  # "gpu0", "cpu package-0", "cpu (this process)", "remote server"
    joules: float | None  # None exactly when kind is "unknown"
    kind: EnergyKind
    method: str  # short name: nvml-energy-counter, nvml-power-sampling, rapl, cpu-time, gpu-time, remote
    detail: str  # for people: what was read or multiplied, and where a power figure comes from

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"energy reading {self.device!r}: kind {self.kind!r} is not one of {KINDS}")
        if (self.joules is None) != (self.kind == "unknown"):
            raise ValueError(
                f"energy reading {self.device!r}: joules must be None exactly when the kind is unknown "
                f"(got {self.joules!r} with kind {self.kind!r})"
            )
        if self.joules is not None and self.joules < 0:
            raise ValueError(f"energy reading {self.device!r}: negative energy {self.joules} J")


@dataclass(frozen=True)
class EnergyMeasurement:
    """Every reading taken over one span of work, and the wall seconds that span lasted."""

    readings: tuple[EnergyReading, ...]
    seconds: float

    @property
    def kind(self) -> EnergyKind:
        """measured only if every part was measured; unknown if any part is unknown (or none was read)."""
        kinds = {r.kind for r in self.readings}
        if not kinds or "unknown" in kinds:
            return "unknown"
        return "estimated" if "estimated" in kinds else "measured"

    @property
    def joules(self) -> float | None:
        if self.kind == "unknown":
            return None
        return sum(r.joules for r in self.readings if r.joules is not None)

    @property
    def method(self) -> str:
        """One line naming each part's method and kind, e.g. "gpu0: nvml-energy-counter (measured)"."""
        return "; ".join(f"{r.device}: {r.method} ({r.kind})" for r in self.readings) or "none"

    def to_dict(self) -> dict[str, Any]:
        return {"seconds": self.seconds, "readings": [asdict(r) for r in self.readings]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EnergyMeasurement:
        try:
            readings = tuple(EnergyReading(**reading) for reading in data["readings"])
            return cls(readings, float(data["seconds"]))
        except (KeyError, TypeError) as error:
            raise ValueError(f"not an energy measurement record: {error}") from error


def combine(measurements: Iterable[EnergyMeasurement]) -> EnergyMeasurement:
    """Adds the measurements of several sessions of one run (resume, shards), part by part.

    Readings of the same device, method and kind are summed; anything else is kept side by side, so
    a run generated partly on a metered GPU and partly elsewhere stays honest about both.
    """
    sums: dict[tuple[str, str, EnergyKind], EnergyReading] = {}
    seconds = 0.0
    for measurement in measurements:
        seconds += measurement.seconds
        for reading in measurement.readings:
            key = (reading.device, reading.method, reading.kind)
            previous = sums.get(key)
            if previous is None:
                sums[key] = reading
            elif previous.joules is not None and reading.joules is not None:
                same = previous.detail == reading.detail
                detail = previous.detail if same else f"{previous.detail} + {reading.detail}"
                total = previous.joules + reading.joules
                sums[key] = EnergyReading(reading.device, total, reading.kind, reading.method, detail)
    return EnergyMeasurement(tuple(sums.values()), seconds)


def share_of(measurement: EnergyMeasurement, share: float) -> EnergyMeasurement:
    """The part of a session's measurement that one of several tasks generated at once is charged with."""
    readings = tuple(
        EnergyReading(r.device, None if r.joules is None else r.joules * share, r.kind, r.method, r.detail)
        for r in measurement.readings
    )
    return EnergyMeasurement(readings, measurement.seconds * share)


NOT_RECORDED = EnergyReading(
    "all",
    None,
    "unknown",
    "not-recorded",
    "no energy record beside the journal: its samples were generated by a harness that did not meter them",
)
