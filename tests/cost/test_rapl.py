"""RAPL through a fake powercap tree laid out as Linux lays it out, wrap-arounds included."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from powercap_tree import RANGE, write, zone

from harness.cost.rapl import RaplMeter, RaplUnavailable, counter_increase, find_package_zones


@pytest.fixture
def powercap(tmp_path: Path) -> dict[str, Path]:
    """Two packages, their sub-zones, a psys zone and an MMIO duplicate: only the packages count."""
    root = tmp_path / "powercap"
    (root / "intel-rapl").mkdir(parents=True)  # the control type folder
    files = {
        "pkg0": zone(root, "intel-rapl:0", "package-0", 1_000_000),
        "pkg1": zone(root, "intel-rapl:1", "package-1", RANGE - 2_000_000),  # about to wrap
        "core0": zone(root, "intel-rapl:0:0", "core", 5),
        "dram0": zone(root, "intel-rapl:0:1", "dram", 5),
        "psys": zone(root, "intel-rapl:2", "psys", 5),
        "mmio": zone(root, "intel-rapl-mmio:0", "package-0", 5),
    }
    files["root"] = root
    return files


def test_counter_increase_handles_one_wrap() -> None:
    assert counter_increase(100, 250, 1000) == 150
    assert counter_increase(900, 50, 1000) == 150  # 100 to the top, then 50 after the wrap
    assert counter_increase(7, 7, 1000) == 0


def test_only_package_zones_are_counted(powercap: dict[str, Path]) -> None:
    zones = find_package_zones(powercap["root"])
    assert [(z.name, z.energy_file) for z in zones] == [
        ("package-0", powercap["pkg0"]),
        ("package-1", powercap["pkg1"]),
    ]
    assert zones[0].max_range_uj == RANGE


def test_meter_sums_packages_across_a_wrap(powercap: dict[str, Path]) -> None:
    meter = RaplMeter(find_package_zones(powercap["root"]), poll_s=3600)  # only start and stop read
    meter.start()
    write(powercap["pkg0"], 31_000_000)  # +30 J
    write(powercap["pkg1"], 3_000_000)  # wrapped: +2 J to the top, +3 J after
    write(powercap["core0"], 10**12)  # sub-zones, psys and MMIO never count
    write(powercap["psys"], 10**12)
    readings = meter.stop()
    assert [(r.device, r.joules, r.kind, r.method) for r in readings] == [
        ("cpu package-0", 30.0, "measured", "rapl"),
        ("cpu package-1", 5.0, "measured", "rapl"),
    ]
    assert "whole package, all processes" in readings[0].detail


def test_polling_counts_several_wraps_in_one_run(powercap: dict[str, Path]) -> None:
    small = 1_000_000  # a 1 J range wraps on every poll below
    root = powercap["root"]
    counter = zone(root, "intel-rapl:5", "package-5", 0, max_range=small)
    meter = RaplMeter([z for z in find_package_zones(root) if z.name == "package-5"], poll_s=3600)
    meter.start()
    for value in (600_000, 100_000, 700_000, 200_000):  # +0.6, +0.5, +0.6, +0.5 J: two wraps
        write(counter, value)
        meter.poll()
    write(counter, 900_000)  # +0.7 J, read by stop()
    (reading,) = meter.stop()
    assert reading.joules == pytest.approx(2.9)


def test_background_poll_runs_while_work_goes_on(powercap: dict[str, Path]) -> None:
    meter = RaplMeter(find_package_zones(powercap["root"])[:1], poll_s=0.01)
    meter.start()
    for step in range(1, 40):
        write(powercap["pkg0"], 1_000_000 + step * 100_000)  # keeps rising; the poller reads it meanwhile
        time.sleep(0.002)
    (reading,) = meter.stop()
    assert reading.joules == pytest.approx(3.9)


def test_a_counter_lost_mid_run_is_unknown_not_a_crash(powercap: dict[str, Path]) -> None:
    meter = RaplMeter(find_package_zones(powercap["root"]), poll_s=3600)
    meter.start()
    powercap["pkg1"].unlink()
    readings = meter.stop()
    assert [(r.joules, r.kind) for r in readings] == [(None, "unknown"), (None, "unknown")]
    assert "could not be read during the run" in readings[0].detail


def test_missing_tree_says_so(tmp_path: Path) -> None:
    with pytest.raises(RaplUnavailable, match="does not exist"):
        find_package_zones(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RaplUnavailable, match="no intel-rapl:N package zone"):
        find_package_zones(tmp_path / "empty")


def test_unreadable_counter_is_reported(powercap: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    # Linux >= 5.10 makes energy_uj root-only; chmod cannot show that to a test running as root, so
    # reading a counter file raises what a non-root reader gets.
    real_read = Path.read_text

    def read_text(path: Path, *args: object, **kwargs: object) -> str:
        if path.name == "energy_uj":
            raise PermissionError(13, "Permission denied", str(path))
        return real_read(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_text", read_text)
    with pytest.raises(RaplUnavailable, match=r"intel-rapl:0/energy_uj is not readable \(root only"):
        find_package_zones(powercap["root"])


def test_malformed_counter_is_reported(powercap: dict[str, Path]) -> None:
    write(powercap["pkg1"], 0)
    powercap["pkg0"].write_text("garbage\n")
    (powercap["pkg1"].parent / "max_energy_range_uj").write_text("0\n")
    with pytest.raises(RaplUnavailable) as caught:
        find_package_zones(powercap["root"])
    assert "'garbage', not a number of microjoules" in str(caught.value)
    assert "not a positive range" in str(caught.value)
