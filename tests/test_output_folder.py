"""An unwritable output folder is found before anything loads; OS errors end in one line naming the path."""

from __future__ import annotations

import errno
import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from harness.output_folder import check_writable, describe_os_error
from harness.results import read_score_file
from tests.test_pipeline import sample_answers, write_replay

HARNESS = [sys.executable, "-m", "harness.cli"]


def test_a_folder_under_a_regular_file_is_refused_and_nothing_is_created(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(NotADirectoryError) as caught:
        check_writable(tmp_path / "notes.txt" / "results")
    assert caught.value.filename == str(tmp_path / "notes.txt")
    check_writable(tmp_path / "new" / "deeper")  # creatable: fine, and still not created
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_a_read_only_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o555)
    with pytest.raises(PermissionError) as caught:
        check_writable(folder / "results")
    assert caught.value.filename == str(folder)
    assert "fix the permissions" in describe_os_error(caught.value)


def test_os_errors_read_as_one_line_with_the_path_and_the_fix() -> None:
    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/data/out/x.json")
    assert describe_os_error(full) == (
        "/data/out/x.json: No space left on device (the disk is full: free some space or choose another "
        "output folder; samples generated so far are kept in the journal: rerun the same command to resume)"
    )
    read_only = OSError(errno.EROFS, os.strerror(errno.EROFS), "/mnt/ro")
    assert describe_os_error(read_only) == (
        "/mnt/ro: Read-only file system (the file system is mounted read-only: choose another output folder)"
    )


def test_run_into_a_path_under_a_file_fails_before_the_model_loads(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    config = tmp_path / "c.yaml"
    config.write_text(
        f"model: {{name: m, backend: hf, path: {tmp_path / 'no-model'}}}\n"
        f"tasks: [sample-math]\noutput: {tmp_path / 'notes.txt' / 'out'}\n"
    )
    result = subprocess.run([*HARNESS, "run", str(config)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert result.stderr == (
        f"error: {tmp_path / 'notes.txt'}: Not a directory (a part of that path is a file, not a folder: "
        "choose another output folder)\n"
    )


def _limit_file_size() -> None:
    # A real write error from the kernel in the middle of a run, as on a full disk: EFBIG past 3 kB.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (3000, 3000))


def test_a_write_error_mid_run_is_one_line_and_the_rerun_loses_nothing(tmp_path: Path) -> None:
    replay = write_replay(tmp_path / "replay.jsonl", sample_answers(1))
    config = tmp_path / "c.yaml"
    config.write_text(f"model: {{name: r, backend: replay, path: {replay}}}\ntasks: [sample-math]\n")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    out = tmp_path / "out"
    command = [*HARNESS, "run", str(config), "--output", str(out), "--no-progress"]
    limited = subprocess.run(
        command, capture_output=True, text=True, timeout=300, env=env, preexec_fn=_limit_file_size
    )
    assert limited.returncode == 1
    [line] = limited.stderr.splitlines()
    assert line.startswith(f"error: {out / '.journal'}/") and ": File too large (a file size limit" in line
    assert "rerun the same command to resume" in line
    assert not list(out.glob("*.json"))
    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    [score_file] = out.glob("*.json")
    assert read_score_file(score_file).metrics["accuracy"] == 1.0
    [journal] = (out / ".journal").glob("*.jsonl")
    keys = [json.loads(line)["problem_id"] for line in journal.read_text().splitlines()[1:]]
    assert sorted(keys) == sorted(set(keys)) and len(keys) == 24
