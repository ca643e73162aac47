"""Builds fake powercap trees (/sys/class/powercap as Linux lays it out) in a temporary folder."""

from __future__ import annotations

import os
from pathlib import Path

RANGE = 262_143_328_850  # max_energy_range_uj of a real Xeon package zone


def zone(root: Path, folder: str, name: str, energy_uj: int, max_range: int = RANGE) -> Path:
    """One zone folder with its name, counter and range; returns the counter file."""
    path = root / folder
    path.mkdir(parents=True)
    (path / "name").write_text(name + "\n")
    (path / "energy_uj").write_text(f"{energy_uj}\n")
    (path / "max_energy_range_uj").write_text(f"{max_range}\n")
    return path / "energy_uj"


def write(path: Path, value: int) -> None:
    """Replaces the counter in one step, as a sysfs read never sees half a number."""
    staging = path.with_name(path.name + ".new")
    staging.write_text(f"{value}\n")
    os.replace(staging, path)
