from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.journal import Journal, JournalError, merge_journals, read_journal
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
