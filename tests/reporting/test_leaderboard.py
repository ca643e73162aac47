from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.protocol import protocol_differences
from harness.reporting.leaderboard import build_leaderboard
from harness.reporting.leaderboard_export import render_markdown
from tests.reporting.score_files import write_sample_board


@pytest.fixture
def results(tmp_path: Path) -> Path:
    return write_sample_board(tmp_path)


def test_rows_columns_and_cells(results: Path) -> None:
    lb = build_leaderboard(results)
    assert [(r.name, r.revision) for r in lb.rows] == [("beta", "rev1"), ("alpha", "rev1"), ("alpha", "rev2")]
    assert [lb.column_labels[c] for c in lb.columns] == ["toy [p:aaaa1111]", "toy [p:bbbb2222]"]
    alpha, beta = lb.rows[1], lb.rows[0]
    col_a, col_b = lb.columns
    assert lb.cells[(beta, col_a)].text() == "100.0 [100.0, 100.0] n=4×1"
    assert re.fullmatch(r"75\.0 \[\d+\.\d, 100\.0\] n=4×1", lb.cells[(alpha, col_a)].text())
    assert re.fullmatch(r"50\.0 \[50\.0, 50\.0\] n=4×2", lb.cells[(alpha, col_b)].text())
    assert (beta, col_b) not in lb.cells
    assert lb.tokens_per_sample(alpha) == pytest.approx((4 * 100 + 8 * 200) / 12)


def test_newest_file_wins_and_is_mentioned(results: Path) -> None:
    lb = build_leaderboard(results)
    alpha = lb.rows[1]
    used = lb.cells[(alpha, lb.columns[0])]
    assert used.record.run_id == "run1" and used.superseded == 1
    [note] = [n for n in lb.notes if "score files" in n]
    assert "alpha on toy: 2 score files; using the newest, alpha__toy__run1.json" in note
    assert "not used: alpha__toy__old.json" in note


def test_protocol_difference_is_explained(results: Path) -> None:
    lb = build_leaderboard(results)
    [note] = [n for n in lb.notes if "protocols" in n]
    assert note == (
        "toy: protocols aaaa1111 and bbbb2222 differ in sampling.n, sampling.temperature, sampling.top_p; "
        "their scores are not comparable"
    )
    assert protocol_differences(
        {"hash": "1", "prompt": "x", "k": 1}, {"hash": "2", "prompt": "y", "k": 1}
    ) == ["prompt"]


def test_foreign_and_corrupt_files_are_skipped_with_reasons(results: Path) -> None:
    lb = build_leaderboard(results)
    reasons = {path.name: reason for path, reason in lb.skipped}
    assert set(reasons) == {"package.json", "broken.json"}  # the hidden .journal folder is not read
    assert reasons["package.json"].startswith("not a score file")
    assert reasons["broken.json"].startswith("not valid JSON (line 1")


def test_empty_folder_gives_an_empty_board(tmp_path: Path) -> None:
    lb = build_leaderboard(tmp_path)
    assert lb.rows == () and lb.skipped == ()
    assert f"No score files found under {tmp_path}." in render_markdown(lb)
