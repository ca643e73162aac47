"""The run store: the names of a run's files, shard discovery, model info, the lock, the time records."""

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

from harness.journal import Journal
from harness.run_store import (
    GenerationClock,
    JournalLock,
    JournalLockedError,
    RunStore,
    generation_wall_path,
    lock_holder,
    lock_path,
    recorded_generation_seconds,
)
from harness.sharding import Shard
from harness.types import ModelInfo
from tests.test_journal import FINGERPRINT, REPO, completion


def test_every_file_of_a_run_is_named_by_the_store(tmp_path: Path) -> None:
    store = RunStore(tmp_path, "abc123")
    folder = tmp_path / ".journal"
    assert store.journal_path() == folder / "abc123.jsonl"
    assert store.journal_path(Shard(1, 4)) == folder / "abc123.shard1of4.jsonl"
    assert lock_path(store.journal_path(Shard(1, 4))) == folder / "abc123.shard1of4.jsonl.lock"
    assert generation_wall_path(store.journal_path()) == folder / "abc123.wall.json"
    assert store.model_info_path == folder / "abc123.model.json"


def test_shard_journals_are_found_by_parsing_their_names(tmp_path: Path) -> None:
    store = RunStore(tmp_path, "abc123")
    for shard in (Shard(2, 3), Shard(0, 3), Shard(1, 3)):
        store.journal(FINGERPRINT, shard).append(completion("p1", shard.index))
    store.journal(FINGERPRINT).append(completion("p1", 0))  # the unsharded journal is not a shard
    for stray in ("abc123.shard5of3.jsonl", "abc123.shardXof3.jsonl", "other.shard0of3.jsonl"):
        (store.folder / stray).write_text("")
    found = store.shard_journals()
    assert [s.shard for s in found] == [Shard(0, 3), Shard(1, 3), Shard(2, 3)]
    assert [s.path for s in found] == [store.journal_path(s.shard) for s in found]


def test_model_info_round_trips_and_a_damaged_record_reads_as_absent(tmp_path: Path) -> None:
    store = RunStore(tmp_path, "abc123")
    assert store.load_model_info() is None
    info = ModelInfo("m", "hf", "p", None, "bfloat16", "cpu", "transformers 5", 8, "h", {"context_tokens": 4})
    store.save_model_info(info)
    assert store.load_model_info() == info
    store.model_info_path.write_text("{not json")
    assert store.load_model_info() is None


HOLD_LOCK = (
    "import sys, time\nfrom pathlib import Path\nfrom harness.run_store import JournalLock\n"
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


def test_a_session_for_several_journals_records_its_share_in_each(tmp_path: Path) -> None:
    store = RunStore(tmp_path, "abc123")
    store.journal(FINGERPRINT).append(completion("p1", 0))
    with store.clock(share=0.25) as clock:
        time.sleep(0.2)
    assert store.generation_seconds() == pytest.approx(clock.seconds * 0.25, abs=0.01)
    assert 0.05 <= store.generation_seconds() < clock.seconds
