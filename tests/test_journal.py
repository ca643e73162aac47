from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.journal import (
    GenerationClock,
    Journal,
    JournalError,
    JournalLock,
    JournalLockedError,
    generation_wall_path,
    lock_holder,
    lock_path,
    merge_journals,
    read_journal,
    recorded_generation_seconds,
)
from harness.types import Completion, SampleKey

REPO = Path(__file__).resolve().parents[1]
FINGERPRINT = {"run_id": "r1", "protocol_hash": "0123456789abcdef", "model": {"name": "m", "stop": ("a",)}}


def completion(pid: str, idx: int, text: str = "answer 42") -> Completion:
    return Completion(
        task="toy",
        problem_id=pid,
        sample_index=idx,
        text=text,
        output_tokens=3,
        finish_reason="stop",
        seconds=0.5,
        reasoning="hmm" if idx else None,
    )


def test_append_load_roundtrip_creates_folders(tmp_path: Path) -> None:
    path = tmp_path / ".journal" / "r1.jsonl"
    journal = Journal(path, FINGERPRINT)
    assert journal.load() == {}
    assert not path.exists()  # loading alone writes nothing
    written = [completion("p1", 0), completion("p1", 1, "ünïcode ✓\nline two"), completion("p2", 0)]
    for c in written:
        journal.append(c)
    loaded = Journal(path, FINGERPRINT).load()
    assert loaded == {c.key: c for c in written}
    header = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert header["fingerprint"]["protocol_hash"] == "0123456789abcdef"
    assert len(path.read_bytes().splitlines()) == 4


def test_torn_last_line_is_dropped_truncated_and_redone(tmp_path: Path) -> None:
    path = tmp_path / "r1.jsonl"
    journal = Journal(path, FINGERPRINT)
    journal.append(completion("p1", 0))
    journal.append(completion("p1", 1))
    intact = path.read_bytes()
    with open(path, "ab") as handle:  # what a crash in the middle of a write leaves behind
        handle.write(b'{"task": "toy", "problem_id": "p2", "sample_in')
    resumed = Journal(path, FINGERPRINT)
    done = resumed.load()
    assert set(done) == {SampleKey("toy", "p1", 0), SampleKey("toy", "p1", 1)}
    assert resumed.dropped_torn_line
    assert path.read_bytes() == intact  # cut back to the last good line
    resumed.append(completion("p2", 0))
    assert SampleKey("toy", "p2", 0) in Journal(path, FINGERPRINT).load()


def test_garbled_last_line_with_newline_is_also_dropped(tmp_path: Path) -> None:
    path = tmp_path / "r1.jsonl"
    Journal(path, FINGERPRINT).append(completion("p1", 0))
    with open(path, "ab") as handle:
        handle.write(b"\x00\x00\x00\n")  # some file systems leave zeros after a crash
    journal = Journal(path, FINGERPRINT)
    assert list(journal.load()) == [SampleKey("toy", "p1", 0)]
    journal.append(completion("p1", 1))
    assert len(Journal(path, FINGERPRINT).load()) == 2


def test_torn_header_starts_the_journal_over(tmp_path: Path) -> None:
    path = tmp_path / "r1.jsonl"
    path.write_bytes(b'{"format": "harness-jou')
    journal = Journal(path, FINGERPRINT)
    assert journal.load() == {}
    journal.append(completion("p1", 0))
    assert len(Journal(path, FINGERPRINT).load()) == 1


def test_corruption_in_the_middle_is_an_error_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "r1.jsonl"
    journal = Journal(path, FINGERPRINT)
    for i in range(3):
        journal.append(completion("p", i))
    lines = path.read_bytes().splitlines(keepends=True)
    lines[2] = b'{"broken": \n'
    path.write_bytes(b"".join(lines))
    with pytest.raises(JournalError, match=r"r1\.jsonl, line 3: not valid JSON"):
        Journal(path, FINGERPRINT).load()


def test_fingerprint_mismatch_raises_and_names_what_differs(tmp_path: Path) -> None:
    path = tmp_path / "r1.jsonl"
    Journal(path, FINGERPRINT).append(completion("p1", 0))
    other = {**FINGERPRINT, "protocol_hash": "ffffffffffffffff"}
    with pytest.raises(JournalError, match=r"different run \(differs in: protocol_hash\)"):
        Journal(path, other).load()
    with pytest.raises(JournalError, match="different run"):
        Journal(path, other).append(completion("p1", 1))  # appending never bypasses the check
    assert len(path.read_bytes().splitlines()) == 2


def test_duplicate_keys_keep_the_first(tmp_path: Path) -> None:
    path = tmp_path / "r1.jsonl"
    journal = Journal(path, FINGERPRINT)
    journal.append(completion("p1", 0, "first"))
    journal.append(completion("p1", 0, "second"))
    again = Journal(path, FINGERPRINT)
    assert again.load()[SampleKey("toy", "p1", 0)].text == "first"
    assert again.duplicates == 1


def test_a_file_that_is_not_a_journal_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.jsonl"
    path.write_text('{"hello": 1}\n')
    with pytest.raises(JournalError, match="line 1: not a journal header"):
        Journal(path, FINGERPRINT).load()


def test_merge_journals_unions_shards_and_checks_headers(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    Journal(a, FINGERPRINT).append(completion("p1", 0, "from a"))
    Journal(b, FINGERPRINT).append(completion("p2", 0))
    Journal(b, FINGERPRINT).append(completion("p1", 0, "from b"))
    merged = merge_journals([a, b, tmp_path / "never-started.jsonl"])
    assert set(merged) == {SampleKey("toy", "p1", 0), SampleKey("toy", "p2", 0)}
    assert merged[SampleKey("toy", "p1", 0)].text == "from a"
    Journal(c, {**FINGERPRINT, "run_id": "r2"}).append(completion("p3", 0))
    expected = r"a\.jsonl and .*c\.jsonl belong to different runs \(differ in: run_id\)"
    with pytest.raises(JournalError, match=expected):
        merge_journals([a, c])


def test_sigkilled_writer_leaves_a_loadable_journal(tmp_path: Path) -> None:
    """A real process appends large completions and is killed with SIGKILL mid-way."""
    path = tmp_path / "r1.jsonl"
    script = (
        "import sys, json\nfrom harness.journal import Journal\nfrom harness.types import Completion\n"
        "j = Journal(sys.argv[1], json.loads(sys.argv[2]))\n"
        "for i in range(100000):\n"
        "    j.append(Completion('toy', f'p{i}', 0, 'x' * 200_000, 5, 'stop'))\n"
        "    if i == 2:\n"
        "        print('going', flush=True)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(path), json.dumps(FINGERPRINT)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdout.readline() == "going\n"
    time.sleep(0.3)
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL
    journal = Journal(path, FINGERPRINT)
    done = journal.load()
    assert len(done) >= 3
    assert set(done) == {SampleKey("toy", f"p{i}", 0) for i in range(len(done))}  # a prefix, no gaps
    assert all(len(c.text) == 200_000 for c in done.values())
    journal.append(completion("after", 0))
    assert len(Journal(path, FINGERPRINT).load()) == len(done) + 1
    assert not read_journal(path).torn


HOLD_LOCK = (
    "import sys, time\nfrom pathlib import Path\nfrom harness.journal import JournalLock\n"
    "with JournalLock(Path(sys.argv[1])):\n    print('held', flush=True)\n    time.sleep(600)\n"
)


def test_a_second_run_of_a_journal_is_refused_while_the_first_lives(tmp_path: Path) -> None:
    path = tmp_path / "r1.jsonl"
    command = [sys.executable, "-c", HOLD_LOCK, str(path)]
    holder = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        assert f"pid {holder.pid} on host {socket.gethostname()}" in str(lock_holder(path))
        refused = rf"r1\.jsonl is in use by another run \(pid {holder.pid} on host "
        with pytest.raises(JournalLockedError, match=refused), JournalLock(path):
            pass
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    # The kernel dropped the dead holder's lock; its record is left but names this host and a dead pid.
    warnings: list[str] = []
    with JournalLock(path, warn=warnings.append):
        assert json.loads(lock_path(path).read_text())["pid"] == os.getpid()
        with pytest.raises(JournalLockedError), JournalLock(path):  # also refused within one process
            pass
    assert warnings == []
    assert lock_path(path).read_text() == "" and lock_holder(path) is None  # released cleanly


def test_a_lock_left_by_another_machine_is_taken_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "r1.jsonl"
    lock_path(path).write_text(
        json.dumps({"host": "node-17", "pid": 4242, "started": "2025-01-01T00:00:00Z"})
    )
    warnings: list[str] = []
    with JournalLock(path, warn=warnings.append):
        pass
    [warning] = warnings
    assert (
        "names a run that did not release it (pid 4242 on host node-17 since 2025-01-01T00:00:00Z)" in warning
    )
    assert "may not share locks between machines" in warning


def test_generation_clock_records_wall_time_while_it_runs(tmp_path: Path) -> None:
    path = tmp_path / "r1.jsonl"
    wall = generation_wall_path(path)
    wall.write_text(json.dumps({"generation_wall_seconds": 100.0}))  # an earlier session's time
    with GenerationClock(path, interval=0.05) as clock:
        time.sleep(0.2)
        assert json.loads(wall.read_text())["generation_wall_seconds"] == 100.0  # no journal yet: no trace
        Journal(path, FINGERPRINT).append(completion("p1", 0))
        deadline = time.monotonic() + 10
        while recorded_generation_seconds(path) == 100.0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert 100.2 <= recorded_generation_seconds(path) <= 100.0 + clock.seconds
    assert recorded_generation_seconds(path) == pytest.approx(100.0 + clock.seconds, abs=0.05)
