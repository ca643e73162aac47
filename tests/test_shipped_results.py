"""results/ ships real score files and the leaderboard built from them; the README shows that board."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from harness.reporting.leaderboard import build_leaderboard
from harness.reporting.leaderboard_export import render_markdown
from harness.reporting.reference_rows import load_reference_rows

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "results"


def load_readme_script():
    spec = importlib.util.spec_from_file_location("readme_results", REPO / "scripts" / "readme_results.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("readme_results", module)
    spec.loader.exec_module(module)
    return module


def test_shipped_leaderboard_is_what_the_shipped_score_files_give() -> None:
    board = build_leaderboard(RESULTS, load_reference_rows(RESULTS / "reference_rows.yaml"))
    assert board.skipped == ()
    assert {c.task for c in board.columns} >= {"sample-math", "sample-code", "aime24"}
    # Rebuilding reproduces the committed file: nothing in results/ was edited by hand.
    assert render_markdown(board) == (RESULTS / "leaderboard.md").read_text(encoding="utf-8")


def test_readme_shows_the_shipped_leaderboard() -> None:
    script = load_readme_script()
    assert (
        script.main(
            ["--leaderboard", str(RESULTS / "leaderboard.md"), "--readme", str(REPO / "README.md"), "--check"]
        )
        == 0
    )


def test_readme_splice_replaces_only_between_the_markers(tmp_path: Path) -> None:
    script = load_readme_script()
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{script.START}\nold table\n{script.END}\noutro\n", encoding="utf-8")
    board = tmp_path / "leaderboard.md"
    board.write_text("# Leaderboard\n\n| a |\n|---|\n\n## Notes\n\n- n\n", encoding="utf-8")
    assert script.main(["--leaderboard", str(board), "--readme", str(readme), "--check"]) == 1
    assert script.main(["--leaderboard", str(board), "--readme", str(readme)]) == 0
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("intro\n") and text.endswith(f"{script.END}\noutro\n")
    assert "old table" not in text and "| a |" in text and "### Notes" in text
    assert script.main(["--leaderboard", str(board), "--readme", str(readme), "--check"]) == 0
