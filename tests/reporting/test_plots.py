"""Charts: the SVG pieces of the HTML page, the grouping of problems, and the PNG of `show --plot`."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.reporting.plots import Point, efficiency_svg, problem_groups, score_bars_svg
from harness.tasks.aime import aime_problem
from tests.reporting.score_files import write_result


def points() -> list[Point]:
    return [
        Point("small <model>", 0.25, (0.1, 0.4), 100.0, 2.0),
        Point("big", 0.75, (0.6, 0.9), 400.0, 8.0),
    ]


def test_score_bars_are_ordered_scaled_and_escaped() -> None:
    svg = score_bars_svg(points(), "toy & co")
    assert "small &lt;model&gt;" in svg and "toy &amp; co" in svg and "<model>" not in svg
    widths = [float(w) for w in re.findall(r'width="([\d.]+)" height="16" class="bar"', svg)]
    # The label room fits "small <model>" (13 characters at 7 px, plus 12); 44 px for the values.
    full = 440 - (13 * 7 + 12) - 44
    assert widths == [
        pytest.approx(full * 0.75, abs=0.06),
        pytest.approx(full * 0.25, abs=0.06),
    ]  # best first


def test_efficiency_chart_places_points_by_cost() -> None:
    svg = efficiency_svg(points(), "t", "tokens_per_sample", "avg tokens per sample")
    xs = [float(x) for x in re.findall(r'<circle cx="([\d.]+)"', svg)]
    # The axis ends at a round 500 tokens; sorted by label: "big" (400) then "small" (100). The plot
    # starts 48 px in and leaves room on the right for the longest label (13 characters).
    full = 440 - 48 - (13 * 7 + 12)
    assert xs == [pytest.approx(48 + full * 400 / 500), pytest.approx(48 + full * 100 / 500)]
    assert ">500</text>" in svg


def test_problem_groups_from_meta_ids_or_nothing() -> None:
    assert problem_groups(["a", "b"], {"a": {"difficulty": "easy"}, "b": {"difficulty": "hard"}}) == {
        "a": "easy",
        "b": "hard",
    }
    dated = {"x": {"contest_date": "2024-08-03T00:00"}, "y": {"contest_date": "2024-09-01"}}
    assert problem_groups(["x", "y"], dated) == {"x": "2024-08", "y": "2024-09"}
    # Ids are not parsed here: AIME's year and difficulty come from the task's metadata.
    assert problem_groups(["2024-I-1", "2024-II-15"]) is None
    aime = {
        pid: aime_problem({"id": pid, "problem": "?", "answer": "1"}, 0).meta
        for pid in ("2024-I-1", "2024-II-15")
    }
    assert problem_groups(["2024-I-1", "2024-II-15"], aime) == {
        "2024-I-1": "problems 1-5", "2024-II-15": "problems 11-15",
    }  # fmt: skip
    assert problem_groups(["add-1", "add-2", "mul-1", "mul-2"]) == {
        "add-1": "add", "add-2": "add", "mul-1": "mul", "mul-2": "mul",
    }  # fmt: skip
    assert problem_groups(["p0", "p1", "p2"]) is None
    assert problem_groups(["add-1", "mul-1"]) is None  # one problem per group says nothing


def test_show_plot_writes_a_png(tmp_path: Path) -> None:
    # One sample hit the token limit: its length sits at max_new_tokens in the histogram.
    score = write_result(tmp_path, "m", [[True], [False], [True], [False]], cut={(1, 0)})
    target = tmp_path / "fig" / "m.png"
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "show", str(score), "--plot", str(target)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"wrote {target}" in done.stdout
    data = target.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > 900 and height > 300  # two panels side by side (no groups for p0..p3)
    default = subprocess.run(
        [sys.executable, "-m", "harness.cli", "show", str(score), "--plot"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert default.returncode == 0 and score.with_suffix(".png").is_file()


def test_show_plot_groups_aime_by_the_tasks_difficulty(tmp_path: Path, shared_data: Path) -> None:
    shipped = Path(__file__).resolve().parents[2] / "results"
    score = shipped / "smollm2-135m-instruct__aime24__fc2542b0fd8c.json"
    target = tmp_path / "aime.png"
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "show", str(score), "--plot", str(target),
         "--data", str(shared_data / "aime24.jsonl")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "not grouped" not in done.stdout
    width = int.from_bytes(target.read_bytes()[16:20], "big")
    assert width > 1500  # three panels: the groups panel is drawn
