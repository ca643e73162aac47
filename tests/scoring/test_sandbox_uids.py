"""Throwaway uids: two harness processes never hold the same one, and a crashed run's uids come back."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.scoring.sandbox_uids import BLOCK_SIZE, UidPool

# A range of its own, so these pools never touch the uids that real grading in this process holds.
BASE = 3_000_000

CLAIMER = """
import sys, time
from pathlib import Path
from harness.scoring.sandbox_uids import UidPool
pool = UidPool(Path(sys.argv[1]), base=3_000_000)
print(pool.take(), flush=True)
time.sleep(60)
"""


def claim_in_other_process(folder: Path) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, "-c", CLAIMER, str(folder)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


def test_concurrent_processes_get_disjoint_blocks_and_a_dead_ones_block_is_free_again(tmp_path: Path) -> None:
    other, their_uid = claim_in_other_process(tmp_path)
    try:
        mine = UidPool(tmp_path, base=BASE)
        my_uids = {mine.take() for _ in range(BLOCK_SIZE + 1)}  # more than one block's worth
        assert their_uid not in my_uids
        assert (their_uid - BASE) // BLOCK_SIZE not in mine.blocks
        assert len(mine.blocks) == 2
    finally:
        other.kill()
        other.wait()
    # The kernel dropped the dead process's lock: its block can be claimed by a new process.
    again, uid = claim_in_other_process(tmp_path)
    again.kill()
    again.wait()
    assert uid == their_uid


def test_a_released_uid_comes_back_to_the_same_process(tmp_path: Path) -> None:
    pool = UidPool(tmp_path, base=BASE)
    first = pool.take()
    second = pool.take()
    assert first != second
    pool.release(first)
    assert first in {pool.take() for _ in range(BLOCK_SIZE)}


def test_claiming_a_block_kills_what_a_crashed_run_left_in_it(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("starting a process as another uid needs root")
    leftover_uid = BASE + 3  # in block 0, the first one a fresh pool claims
    leftover = subprocess.Popen(["sleep", "60"], user=leftover_uid, group=leftover_uid, extra_groups=[])
    try:
        UidPool(tmp_path, base=BASE).take()
        deadline = time.monotonic() + 5
        while leftover.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert leftover.poll() is not None
    finally:
        leftover.kill()
        leftover.wait()
