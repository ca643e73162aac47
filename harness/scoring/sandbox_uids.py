"""Throwaway uids for solutions, never shared by two solutions that can run at the same time.

A uid is the handle that lets the runner kill everything a solution started and keeps one solution's
processes (and quota) apart from another's, so two solutions that may overlap must never hold the same
one, also when several harness processes grade on one machine. Each harness process claims whole
blocks of uids with an exclusive `flock` on a lock file per block: the kernel drops the lock when the
process ends, however it ends, so a crashed run's block becomes free again. A uid goes back to the
process's own pool only after every process of it was killed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import queue
import subprocess
import threading
import time
from pathlib import Path

UID_BASE = 1_000_000  # far above distribution and container ranges, and apart from older harness versions
BLOCK_SIZE = 256
MAX_BLOCKS = 4096


def lock_folder() -> Path:
    """One fixed place per machine, whatever TMPDIR says, so every harness process sees the same locks."""
    for candidate in (Path("/run/lock"), Path("/tmp")):
        if candidate.is_dir() and os.access(candidate, os.W_OK):
            return candidate / "harness-code-uids"
    raise OSError("neither /run/lock nor /tmp is writable: cannot coordinate sandbox uids")


class UidPool:
    def __init__(self, folder: Path | None = None, base: int = UID_BASE) -> None:
        self.folder = folder
        self.base = base
        self._free: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._held: list[int] = []  # lock file descriptors, open for the life of the process
        self.blocks: list[int] = []

    def take(self) -> int:
        try:
            return self._free.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if self._free.empty():
                self._claim_block()
        return self._free.get()

    def release(self, uid: int) -> None:
        self._free.put(uid)

    def _claim_block(self) -> None:
        folder = self.folder or lock_folder()
        folder.mkdir(mode=0o700, exist_ok=True)
        for block in range(MAX_BLOCKS):
            if block in self.blocks:
                continue
            fd = os.open(folder / f"block-{block}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self._held.append(fd)
            self.blocks.append(block)
            first = self.base + block * BLOCK_SIZE
            kill_uid_range(first, first + BLOCK_SIZE)  # a crashed run's leftovers, if any
            for uid in range(first, first + BLOCK_SIZE):
                self._free.put(uid)
            return
        raise OSError(f"all {MAX_BLOCKS} sandbox uid blocks are taken (lock files in {folder})")


def kill_uid_range(first: int, end: int) -> None:
    for pid, uid in _process_uids():
        if first <= uid < end:
            with contextlib.suppress(OSError):
                os.kill(pid, 9)


def _process_uids() -> list[tuple[int, int]]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                found.append((int(entry), os.stat(f"/proc/{entry}").st_uid))
    return found


def kill_uid_processes(uid: int) -> None:
    """SIGKILL every process of `uid`, including escapees from process groups and sessions.

    kill(-1) sent as that uid reaches all of them in one pass (forks in flight are aborted by the
    pending SIGKILL), so a fork bomb cannot outrun it; `kill` runs as the uid via the setuid of a
    fresh exec, never as a fork of the harness running Python.
    """
    try:
        subprocess.run(
            ["kill", "-KILL", "-1"],
            user=uid,
            group=uid,
            extra_groups=[],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        for _ in range(50):  # no `kill` binary: repeat until a pass finds none (RLIMIT_NPROC bounds it)
            victims = [pid for pid, owner in _process_uids() if owner == uid]
            if not victims:
                return
            for pid in victims:
                with contextlib.suppress(OSError):
                    os.kill(pid, 9)
            time.sleep(0.01)


POOL = UidPool()
