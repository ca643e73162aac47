from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection
from pathlib import Path

import pytest

from harness.leaderboard import build_leaderboard, protocol_differences
from harness.leaderboard_export import render_markdown, write_leaderboard
from harness.results import SampleRow, ScoreFile, provenance_now, score_file_name, write_score_file
from harness.scoring.metrics import compute_metrics, metrics_to_dict
from harness.types import Score, Verdict

PROTOCOL_A = {
    "hash": "aaaa1111aaaa1111",
    "task": {"name": "toy", "version": "1"},
    "data": {"content_hash": "c0ffee", "problem_count": 4, "options": {}},
    "prompt": {"template": "{problem}", "system_prompt": None},
    "sampling": {"temperature": 0.0, "top_p": 1.0, "n": 1, "max_new_tokens": 256},
    "grader": {"name": "exact", "version": "1", "settings": {}},
}
PROTOCOL_B = {
    **PROTOCOL_A,
    "hash": "bbbb2222bbbb2222",
    "sampling": {"temperature": 0.6, "top_p": 0.95, "n": 2, "max_new_tokens": 256},
}


def write_result(
    folder: Path,
    model: str,
    correct: list[list[bool]],
    protocol: dict = PROTOCOL_A,
    revision: str | None = "rev1",
    created_at: str = "2025-01-01T12:00:00Z",
    tokens_per_sample: int = 100,
    run_id: str = "run1",
    cut: Collection[tuple[int, int]] = (),
) -> Path:
    """A real score file for `model` where correct[p][i] says whether sample i of problem p is right;
    the (p, i) in `cut` hit max_new_tokens (256) and, when wrong, are judged truncated."""
    n = len(correct[0])
    ids = [f"p{i}" for i in range(len(correct))]
    rows = [
        SampleRow(pid, i, "text", None, "1" if ok else "2",
                  "correct" if ok else "truncated" if (p, i) in cut else "wrong", ok,
                  256 if (p, i) in cut else tokens_per_sample, "length" if (p, i) in cut else "stop",
                  None, 0.1)
        for p, (pid, row) in enumerate(zip(ids, correct, strict=True))
        for i, ok in enumerate(row)
    ]  # fmt: skip
    # The protocol's sizes follow the grid, as in a real run (the hash stays the fixture's).
    protocol = {**protocol, "data": {**protocol["data"], "problem_count": len(correct)},
                "sampling": {**protocol["sampling"], "n": n}}  # fmt: skip
    scores = [Score(r.problem_id, r.sample_index, Verdict(r.verdict), r.extracted) for r in rows]
    metrics = compute_metrics(scores, ids, n=n, bootstrap_resamples=500)
    name = score_file_name(model, "toy", run_id)
    record = ScoreFile(
        run_id=run_id,
        created_at=created_at,
        task={"name": "toy", "version": "1"},
        model={
            "name": model,
            "backend": "hf",
            "path": "/m",
            "revision": revision,
            "dtype": "float32",
            "device": "cpu",
            "engine": "transformers",
            "batch_size": 1,
            "chat_template_hash": None,
            "extra": {},
        },
        protocol=protocol,
        metrics=metrics_to_dict(metrics),
        counts=dict(metrics.verdict_counts),
        provenance=provenance_now(None),
        cost={
            "wall_seconds": 2.0,
            "generated_tokens": sum(r.output_tokens for r in rows),
            "tokens_per_second": 50.0,
            "generation_seconds": 2.0,
        },
        samples_file=name.removesuffix(".json") + ".samples.jsonl",
    )
    path = folder / name
    write_score_file(path, record, rows)
    return path


@pytest.fixture
def results(tmp_path: Path) -> Path:
    right, wrong = True, False
    write_result(tmp_path, "alpha", [[right], [right], [right], [wrong]], tokens_per_sample=100)
    write_result(tmp_path / "nested", "beta", [[right], [right], [right], [right]], tokens_per_sample=300)
    write_result(tmp_path, "alpha", [[right, wrong]] * 4, protocol=PROTOCOL_B, run_id="run2",
                 tokens_per_sample=200)  # fmt: skip
    # Same model and column as the first alpha file, but older and worse: must not be used.
    write_result(tmp_path, "alpha", [[wrong]] * 4, created_at="2024-06-01T00:00:00Z", run_id="old")
    # Another weight revision of alpha is another row, not merged into the first.
    write_result(tmp_path, "alpha", [[wrong]] * 4, revision="rev2", run_id="rev2run")
    (tmp_path / "package.json").write_text('{"name": "something else"}')
    (tmp_path / "broken.json").write_text('{"schema_version": 1, "run_id": "cut off')
    (tmp_path / ".journal").mkdir()
    (tmp_path / ".journal" / "run1.model.json").write_text('{"name": "alpha"}')
    return tmp_path


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
    assert "| beta | hf | float32 | rev1 | 100.0 [100.0, 100.0] n=4×1 | – | 300 |" in markdown
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


def test_empty_folder_gives_an_empty_board(tmp_path: Path) -> None:
    lb = build_leaderboard(tmp_path)
    assert lb.rows == () and lb.skipped == ()
    assert f"No score files found under {tmp_path}." in render_markdown(lb)
