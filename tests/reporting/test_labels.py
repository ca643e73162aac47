"""Model labels on the page: the name alone when it is unique, else what tells the rows apart."""

from __future__ import annotations

from pathlib import Path

from harness.reporting.labels import chart_labels, esc, model_label
from harness.reporting.leaderboard import build_leaderboard
from tests.reporting.score_files import write_result


def test_twins_are_told_apart_and_text_is_escaped(tmp_path: Path) -> None:
    write_result(tmp_path, "m", [[True], [False]], revision="rev1", run_id="a")
    write_result(tmp_path, "m", [[False], [False]], revision="rev2", run_id="b")
    write_result(tmp_path, "solo", [[True], [True]], run_id="c")
    lb = build_leaderboard(tmp_path)
    labels = {row: model_label(lb, row) for row in lb.rows}
    assert sorted(labels.values()) == ["m (rev1)", "m (rev2)", "solo"]
    short, legend = chart_labels(lb)
    assert sorted(short.values()) == ["m · rev1", "m · rev2", "solo · rev1"]
    assert len(legend) == 3
    assert esc('<a href="x">') == "&lt;a href=&quot;x&quot;&gt;"
