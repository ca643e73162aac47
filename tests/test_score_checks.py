"""Score files whose numbers do not follow from their own record: refused by the board and compare,
marked by show. Real files written by results.write_score_file, then edited or cut as people do."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from harness.reporting.leaderboard import build_leaderboard
from harness.results import (
    InconsistentScoreFileError,
    check_score_file,
    read_samples,
    read_score_file,
)
from harness.score_checks import metrics_findings, recomputed_findings, samples_findings
from tests.reporting.score_files import write_result

HARNESS = [sys.executable, "-m", "harness.cli"]
R, W = True, False


def edit(path: Path, **metrics: object) -> None:
    document = json.loads(path.read_text())
    document["metrics"].update(metrics)
    path.write_text(json.dumps(document))


def harness(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HARNESS, *args], capture_output=True, text=True, timeout=120)


def test_a_hand_edited_accuracy_is_refused_by_the_board_and_compare_and_marked_by_show(
    tmp_path: Path,
) -> None:
    good = write_result(tmp_path, "honest", [[W]] * 10)
    edited = write_result(tmp_path, "edited", [[W]] * 10)
    edit(edited, accuracy=0.9)
    with pytest.raises(InconsistentScoreFileError) as caught:
        read_score_file(edited)
    assert "accuracy is 0.9 but the per-problem record gives 0.0" in str(caught.value)
    assert "the 95% CI [0.0, 0.0] does not fit the accuracy 0.0 of this record" not in str(caught.value)

    board = build_leaderboard(tmp_path)
    assert [row.name for row in board.rows] == ["honest"]
    [(skipped, reason)] = board.skipped
    assert skipped == edited and reason.startswith("the numbers do not add up: accuracy is 0.9 but")

    compared = harness("compare", str(edited), str(good))
    assert (
        compared.returncode == 1 and "accuracy is 0.9 but the per-problem record gives 0.0" in compared.stderr
    )

    shown = harness("show", str(edited))
    assert shown.returncode == 1
    assert shown.stdout.startswith("WARNING: the numbers in this file do not add up; do not trust them:\n")
    assert "  - accuracy is 0.9 but the per-problem record gives 0.0" in shown.stdout
    assert harness("show", str(good)).returncode == 0


def test_a_cut_off_or_missing_samples_file_is_noticed(tmp_path: Path) -> None:
    path = write_result(tmp_path, "m", [[R], [W], [R], [W]])
    samples = path.with_name(path.stem + ".samples.jsonl")
    lines = samples.read_text().splitlines(keepends=True)
    samples.write_text("".join(lines[:2]))
    cut = r"is not the one written with it \(sha256 differs; 2 lines for 4 samples\): it was cut off, edited"
    with pytest.raises(InconsistentScoreFileError, match=cut):
        read_score_file(path)
    assert [reason for _, reason in build_leaderboard(tmp_path).skipped] != []
    samples.unlink()
    shown = harness("show", str(path))
    assert shown.returncode == 1
    assert "its samples file" in shown.stdout and "cannot be read (No such file or directory)" in shown.stdout
    assert "samples      m__toy__run1.samples.jsonl (MISSING or unreadable)" in shown.stdout


def test_a_version_1_file_is_checked_row_by_row(tmp_path: Path) -> None:
    path = write_result(tmp_path, "m", [[R], [W], [R], [W]])
    document = json.loads(path.read_text())
    document["schema_version"] = 1
    del document["samples_sha256"]
    path.write_text(json.dumps(document))
    assert read_score_file(path).samples_sha256 is None  # intact: readable as before
    samples = path.with_name(path.stem + ".samples.jsonl")
    samples.write_text("".join(samples.read_text().splitlines(keepends=True)[:3]))
    with pytest.raises(
        InconsistentScoreFileError,
        match=r"1 samples are missing from the samples file \(first: \('p3', 0\)\)",
    ):
        read_score_file(path)


def test_show_says_how_many_samples_were_cut_at_max_new_tokens(tmp_path: Path) -> None:
    path = write_result(tmp_path, "m", [[W], [W], [W], [R]], cut={(0, 0), (2, 0)})
    shown = harness("show", str(path))
    assert shown.returncode == 0, shown.stdout
    assert "verdicts     correct 1, truncated 2 (2 of them cut at max_new_tokens), wrong 1" in shown.stdout
    assert "truncated    2 of 4 samples hit max_new_tokens (256)" in shown.stdout


def test_each_check_names_what_differs(tmp_path: Path) -> None:
    path = write_result(tmp_path, "m", [[R, W], [W, W], [R, R]], protocol={
        "hash": "cccc3333cccc3333", "task": {}, "data": {"problem_count": 3}, "prompt": {}, "grader": {},
        "sampling": {"temperature": 0.6, "n": 2},
    })  # fmt: skip
    record = read_score_file(path)
    rows = read_samples(path, record)
    m, counts = dict(record.metrics), dict(record.counts)
    assert metrics_findings(m, counts, record.protocol) == []
    assert samples_findings(rows, m, counts, record.cost["generated_tokens"]) == []
    assert recomputed_findings(rows, m) == []
    assert metrics_findings({**m, "pass@2": 0.5}, counts, record.protocol) == [
        "pass@2 is 0.5 but the per-problem record gives 0.6666666666666666"
    ]
    assert metrics_findings(m, {**counts, "wrong": 9}, record.protocol)[0] == (
        "the verdict counts add up to 12 samples, not 6"
    )
    assert metrics_findings({**m, "per_problem": {"p0": [3, 2]}}, counts, record.protocol) == [
        "per-problem entry 'p0' is [3, 2], not [correct, n] with 0 ≤ correct ≤ n"
    ]
    assert "the protocol says n=4" in metrics_findings(m, counts, {"sampling": {"n": 4}})[0]
    # Numbers the tally cannot tell apart from the truth: a plausible CI and maj@k need the samples.
    edited = {**m, "accuracy_ci95": [0.3, 0.6], "maj@2": 0.0}
    assert metrics_findings(edited, counts, record.protocol) == []
    assert [f.split(" but")[0] for f in recomputed_findings(rows, edited)] == [
        "accuracy_ci95 is [0.3, 0.6]",
        "maj@2 is 0.0",
    ]
    mislabelled = [replace(rows[0], correct=False), *rows[1:]]
    assert (
        "sample ('p0', 0) is correct yet correct=False"
        in samples_findings(mislabelled, m, counts, record.cost["generated_tokens"])[-1]
    )
    assert check_score_file(path, record, thorough=True) == []
