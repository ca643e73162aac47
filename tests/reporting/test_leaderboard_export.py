"""The board's files: Markdown, CSV and JSON written atomically, in the formats asked for."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from harness.reporting.leaderboard import LEADERBOARD_JSON_FORMAT, build_leaderboard
from harness.reporting.leaderboard_export import render_csv, render_json, render_markdown, write_leaderboard
from tests.reporting.score_files import write_sample_board


@pytest.fixture
def results(tmp_path: Path) -> Path:
    return write_sample_board(tmp_path / "results")


def test_markdown_and_csv_are_written_atomically(results: Path, tmp_path: Path) -> None:
    lb = build_leaderboard(results)
    written = write_leaderboard(lb, tmp_path / "board")
    assert [p.name for p in written] == ["leaderboard.md", "leaderboard.csv"]
    markdown = written[0].read_text(encoding="utf-8")
    assert markdown == render_markdown(lb)
    assert (
        "| model | backend | dtype | revision | toy [p:aaaa1111] | toy [p:bbbb2222] | avg tokens/sample |"
        in markdown
    )
    assert "| beta | hf | float32 | rev1 | 100.0 [100.0, 100.0] n=4×1 · rank 1 | – | 300 |" in markdown
    assert "- broken.json: " in markdown and "## Notes" in markdown
    table = list(csv.DictReader(io.StringIO(written[1].read_text(encoding="utf-8"))))
    assert len(table) == 4  # beta×1, alpha rev1×2, alpha rev2×1
    beta_row = next(r for r in table if r["model"] == "beta")
    assert float(beta_row["accuracy"]) == 1.0 and beta_row["n_problems"] == "4"
    assert float(beta_row["tokens_per_sample"]) == 300.0
    assert beta_row["score_file"] == "nested/beta__toy__run1.json"
    alpha_b = next(r for r in table if r["protocol_hash"] == "bbbb2222bbbb2222")
    assert float(alpha_b["pass@2"]) == 1.0 and float(alpha_b["maj@2"]) == 1.0
    assert write_leaderboard(lb, tmp_path / "named.csv") == [tmp_path / "named.md", tmp_path / "named.csv"]


def test_json_holds_rows_in_rank_order_and_cells_with_their_files(results: Path) -> None:
    document = json.loads(render_json(build_leaderboard(results)))
    assert document["format"] == LEADERBOARD_JSON_FORMAT
    assert [(r["model"], r["revision"]) for r in document["rows"]] == [
        ("beta", "rev1"), ("alpha", "rev1"), ("alpha", "rev2"),
    ]  # fmt: skip
    assert [c["label"] for c in document["columns"]] == ["toy [p:aaaa1111]", "toy [p:bbbb2222]"]
    beta = next(c for c in document["cells"] if c["model"] == "beta")
    assert beta["accuracy"] == 1.0 and beta["score_file"] == "nested/beta__toy__run1.json"
    assert {s["file"] for s in document["skipped"]} == {"package.json", "broken.json"}


def test_unknown_formats_are_refused_before_anything_is_written(results: Path, tmp_path: Path) -> None:
    board = tmp_path / "board"
    with pytest.raises(ValueError, match=r"unknown leaderboard formats \['pdf'\]"):
        write_leaderboard(build_leaderboard(results), board, ["md", "pdf"])
    assert not board.exists()


def test_rank_intervals_show_ties_in_every_format(results: Path) -> None:
    # Column A: beta 4/4, alpha rev1 3/4, alpha rev2 0/4 on the same problems. Beta is never below
    # alpha rev1 (it solves every problem alpha does) but ties it whenever alpha's miss is not drawn;
    # rev2 is last in every replicate. Column B holds one model: nothing to rank it against.
    lb = build_leaderboard(results)
    alpha = lb.rows[1]
    col_a, col_b = lb.columns
    assert [lb.rank_text(r, col_a) for r in lb.rows] == ["rank 1", "rank 1–2", "rank 3"]
    assert lb.rank_text(alpha, col_b) is None
    markdown = render_markdown(lb)
    assert (
        "| alpha | hf | float32 | rev1 | 75.0 [25.0, 100.0] n=4×1 · rank 1–2 | 50.0 [50.0, 50.0] n=4×2 |"
        in markdown
    )
    assert "\nRank: the places in its column the data supports, a 95% bootstrap interval" in markdown
    table = list(csv.DictReader(io.StringIO(render_csv(lb))))
    ranks = {
        (r["model"], r["revision"], r["protocol_hash"][:4]): (r["rank"], r["rank_best"], r["rank_worst"])
        for r in table
    }
    assert ranks == {
        ("beta", "rev1", "aaaa"): ("1", "1", "1"),
        ("alpha", "rev1", "aaaa"): ("2", "1", "2"),
        ("alpha", "rev2", "aaaa"): ("3", "3", "3"),
        ("alpha", "rev1", "bbbb"): ("", "", ""),
    }
    cells = json.loads(render_json(lb))["cells"]
    assert [c["rank"] for c in cells] == [
        {"observed": 1, "best": 1, "worst": 1},
        {"observed": 2, "best": 1, "worst": 2},
        None,
        {"observed": 3, "best": 3, "worst": 3},
    ]
