"""CPU package energy from RAPL through Linux's powercap files (/sys/class/powercap/intel-rapl:N).

Each top-level `intel-rapl:N` zone is one CPU package (AMD processors appear under the same name
since Linux 5.8). Its `energy_uj` is a counter in microjoules that wraps to zero after
`max_energy_range_uj`; under load that happens every few minutes (2^32 µJ ≈ 4.3 kJ on some parts,
≈ 262 kJ on others), so the meter reads the counters on a background poll well inside the shortest
wrap time and adds up the increments, counting a decrease as one wrap.

Counted: the package zones only. Sub-zones (`intel-rapl:N:M`: cores, uncore, DRAM) are parts of or
beside a package and would double count or mix scopes, `psys` covers the whole platform (package
included), and `intel-rapl-mmio` repeats the package counter through another interface. The counters
cover the whole package, every process on it, so a busy neighbour inflates the figure; the reading's
detail says so. Since Linux 5.10 `energy_uj` is readable by root only (CVE-2020-8694); unreadable
counters make the meter fall back to an estimate, with the reason recorded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from harness.cost.poller import Poller
from harness.cost.readings import EnergyReading

POWERCAP_ROOT = Path("/sys/class/powercap")
PACKAGE_ZONE = re.compile(r"^intel-rapl:\d+$")
# Reads a 10 s poll apart are safe up to max_energy_range_uj / 10 s: 430 W for the smallest
# (2^32 µJ) range seen, far above any single package's draw.
DEFAULT_POLL_S = 10.0


class RaplUnavailable(RuntimeError):
    """No readable RAPL package counter; the message says why (absent, unreadable, malformed)."""


@dataclass(frozen=True)
class RaplZone:
    name: str  # the zone's own name, e.g. "package-0"
    energy_file: Path
    max_range_uj: int


def counter_increase(before_uj: int, after_uj: int, max_range_uj: int) -> int:
    """Microjoules between two reads of a counter that wraps to 0 after max_range_uj (at most one wrap)."""
    if after_uj >= before_uj:
        return after_uj - before_uj
    return max_range_uj - before_uj + after_uj


def find_package_zones(root: Path = POWERCAP_ROOT) -> list[RaplZone]:
    """The readable package zones under `root`; raises RaplUnavailable saying why there are none."""
    if not root.is_dir():
        raise RaplUnavailable(f"{root} does not exist (no powercap interface on this machine)")
    zones, problems = [], []
    for folder in sorted(root.iterdir(), key=lambda p: p.name):
        if not PACKAGE_ZONE.match(folder.name):
            continue
        try:
            name = (folder / "name").read_text(encoding="ascii").strip()
            if name == "psys":
                continue
            _read_uj(folder / "energy_uj")
            max_range = _read_uj(folder / "max_energy_range_uj")
        except PermissionError:
            problems.append(f"{folder / 'energy_uj'} is not readable (root only since Linux 5.10)")
            continue
        except (OSError, ValueError) as error:
            problems.append(f"{folder}: {error}")
            continue
        if max_range <= 0:
            problems.append(f"{folder / 'max_energy_range_uj'} is {max_range}, not a positive range")
            continue
        zones.append(RaplZone(name, folder / "energy_uj", max_range))
    if not zones:
        raise RaplUnavailable("; ".join(problems) or f"{root} has no intel-rapl:N package zone")
    return zones


def _read_uj(path: Path) -> int:
    text = path.read_text(encoding="ascii").strip()
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{path} holds {text!r}, not a number of microjoules") from None


class RaplMeter:
    """Energy of every CPU package between start() and stop(), wrap-arounds included."""

    def __init__(self, zones: list[RaplZone], poll_s: float = DEFAULT_POLL_S) -> None:
        self.zones = zones
        self._poll_s = poll_s
        self._last: list[int] = []
        self._total_uj: list[int] = []
        self._poller: Poller | None = None

    def start(self) -> None:
        self._last = [_read_uj(zone.energy_file) for zone in self.zones]
        self._total_uj = [0] * len(self.zones)
        self._poller = Poller(self.poll, self._poll_s, "harness-rapl")
        self._poller.start()

    def poll(self) -> None:
        """Reads every counter once and adds what each gained since the previous read."""
        for i, zone in enumerate(self.zones):
            now = _read_uj(zone.energy_file)
            self._total_uj[i] += counter_increase(self._last[i], now, zone.max_range_uj)
            self._last[i] = now

    def stop(self) -> list[EnergyReading]:
        if self._poller is None:
            raise RuntimeError("RaplMeter.stop() called before start()")
        poller, self._poller = self._poller, None
        try:
            poller.stop()
        except (OSError, ValueError) as error:  # a counter vanished or changed form mid-run
            why = f"a RAPL counter could not be read during the run: {error}"
            return [EnergyReading(f"cpu {zone.name}", None, "unknown", "rapl", why) for zone in self.zones]
        detail = (
            "RAPL package energy counter via {file}, read every {poll:g} s to catch wrap-arounds; "
            "whole package, all processes on it"
        )
        return [
            EnergyReading(
                device=f"cpu {zone.name}",
                joules=total / 1e6,
                kind="measured",
                method="rapl",
                detail=detail.format(file=zone.energy_file, poll=self._poll_s),
            )
            for zone, total in zip(self.zones, self._total_uj, strict=True)
        ]
