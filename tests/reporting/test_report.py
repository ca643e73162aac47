"""`harness show`: the precision lines (standard errors, variance split, samples for a target CI)."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

from harness.reporting.report import precision_lines
from harness.results import read_score_file
from harness.scoring.stats import samples_needed, variance_split
from tests.reporting.score_files import PROTOCOL_B, write_result

# 30 problems × 4 samples: problem i has (i * 3) % 5 of 4 right (4 counts as 4: 0..4).
GRID = [[j < (i * 3) % 5 for j in range(4)] for i in range(30)]


def test_precision_lines_of_a_sampled_run(tmp_path: Path) -> None:
    record = read_score_file(write_result(tmp_path, "m", GRID, protocol=PROTOCOL_B))
    lines = precision_lines(record.metrics)
    split = variance_split([sum(row) for row in GRID], 4)
    assert split.se_fixed is not None and split.se_population is not None
    assert lines[0] == (
        f"std error    {100 * split.se_fixed:.1f} points on these problems (sampling only), "
        f"{100 * split.se_population:.1f} over a population of problems"
    )
    assert split.between is not None and split.within is not None
    share = round(100 * split.between / (split.between + split.within))
    assert lines[1] == f"variance     {share}% between problems, {100 - share}% within problems (sampling)"
    fixed = [samples_needed(split, h, "fixed").samples_per_problem for h in (0.01, 0.02, 0.05)]
    assert lines[2] == (
        f"n for CI     95% CI of ±1 / ±2 / ±5 points: {fixed[0]} / {fixed[1]} / {fixed[2]} samples per "
        "problem on these problems;"
    )
    # The rates 0, 3/4, 1/2, 1/4, 1 spread widely: 30 problems cannot give ±1 or ±2 points at any n.
    assert lines[3].startswith("             over a population: ≥") and "problems×4 / ≥" in lines[3]


def test_precision_lines_with_one_sample_say_what_is_bounded(tmp_path: Path) -> None:
    grid = [[i % 3 == 0] for i in range(30)]  # 10 of 30 right
    lines = precision_lines(read_score_file(write_result(tmp_path, "m", grid)).metrics)
    se = math.sqrt(variance_split([row[0] for row in grid], 1).problem_variance or 0.0) / math.sqrt(30)
    assert lines[0].startswith(f"std error    {100 * se:.1f} points over a population of problems")
    assert "needs 2+ samples per problem" in lines[0]
    assert "at most" in lines[1] and "bounds the sampling variance by A(1-A)" in lines[2]


def test_show_prints_the_precision_lines(tmp_path: Path) -> None:
    path = write_result(tmp_path, "m", GRID, protocol=PROTOCOL_B)
    shown = subprocess.run(
        [sys.executable, "-m", "harness.cli", "show", str(path)], capture_output=True, text=True, timeout=120
    )
    assert shown.returncode == 0, shown.stderr
    assert "points on these problems (sampling only)" in shown.stdout
    assert "n for CI     95% CI of ±1 / ±2 / ±5 points" in shown.stdout
