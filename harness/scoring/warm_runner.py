"""Warm runners: one long-lived sandboxed interpreter per grading thread, one fork of it per solution.

Starting a fresh sandboxed interpreter per solution (bwrap, `python -I`, the LiveCodeBench prelude)
costs more than running 2-3 public tests. A warm runner is that same process started once, inside the
same bwrap with the same binds and unshares (or as the same limited subprocess), with the prelude
already imported. For each solution it forks a child that enters a fresh directory made for it,
drops to a throwaway uid and then behaves exactly like a cold runner: the same frames on its own
pair of pipes, a fork per test, results the solution cannot forge.

Safety rests on the uid: after each solution the harness kills every process of that uid (escapees
from sessions and process groups included), removes its directory and only then returns the uid to
the pool. Without a uid drop (a non-root harness, or an interpreter other uids cannot read) there is
no such handle, so `open_runner` falls back to the cold runner. A warm runner that died or stopped
answering is killed with its whole process group and replaced before the next solution.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any

from harness.scoring import sandbox
from harness.scoring.sandbox import (
    MARKER_VAR,
    FrameChannel,
    RunnerLost,
    RunnerProcess,
    SandboxLimits,
    SandboxMode,
)

WARM_VAR = "HARNESS_WARM_RUNNER"  # "0" forces a fresh runner per solution (for comparisons)

_FORK_TIMEOUT_S = 30.0
_CLEANUP_TIMEOUT_S = 5.0
_local = threading.local()
_all_runners: set[WarmRunner] = set()
_all_lock = threading.Lock()


class WarmRunner:
    """A started runner in `--warm` mode, owned by one thread, serving one solution at a time."""

    def __init__(self, mode: SandboxMode) -> None:
        self.mode = mode
        self.runner_path = sandbox.RUNNER
        self.broken = False
        self.owner = threading.current_thread()
        self.root = Path(tempfile.mkdtemp(prefix="harness-warm-"))
        os.chmod(self.root, 0o711)  # solution uids may pass through to their own 0700 folder, not list
        self.marker = uuid.uuid4().hex
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close())
        self._socket, theirs = socket.socketpair()
        command = [sys.executable, "-I", "-S", str(self.runner_path), "--warm", str(theirs.fileno())]
        env = {**sandbox._minimal_env(self.root), MARKER_VAR: self.marker}
        if mode == "bwrap":
            command = [*sandbox._bwrap_prefix(self.root), "--setenv", MARKER_VAR, self.marker, *command]
        try:
            self.proc = subprocess.Popen(
                command,
                cwd=self.root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=self._stderr,
                pass_fds=(theirs.fileno(),),
                start_new_session=True,
            )
        except OSError as exc:
            self._remove_files()
            raise RunnerLost(f"could not start the warm code runner ({command[0]}): {exc}") from exc
        finally:
            theirs.close()
        with _all_lock:
            _all_runners.add(self)

    def usable(self, mode: SandboxMode) -> bool:
        current = mode == self.mode and self.runner_path == sandbox.RUNNER
        return current and not self.broken and self.proc.poll() is None

    def open_solution(self, job: dict[str, Any], limits: SandboxLimits) -> SolutionChannel:
        """Fork a solution child in the runner and send it `job`; RunnerLost if the runner is gone."""
        uid = sandbox.take_uid()
        workdir = Path(tempfile.mkdtemp(prefix="s-", dir=self.root))
        os.chown(workdir, uid, uid)
        ctl_read, ctl_write = os.pipe()
        res_read, res_write = os.pipe()
        try:
            socket.send_fds(self._socket, [b"R"], [ctl_read, res_write])
            self._await_fork()
        except OSError as exc:
            self.broken = True
            for fd in (ctl_write, res_read):
                os.close(fd)
            shutil.rmtree(workdir, ignore_errors=True)
            sandbox.release_uid(uid)
            raise RunnerLost(f"the warm code runner is not taking work ({exc})") from exc
        finally:
            os.close(ctl_read)
            os.close(res_write)
        channel = SolutionChannel(self, uid, workdir, ctl_write, res_read)
        extra = {
            "uid": uid,
            "workdir": str(workdir),
            "max_processes": limits.max_processes,
            "site_packages": sandbox._site_packages(),
        }
        try:
            channel.send({**job, **extra})
        except RunnerLost:
            self.broken = True
            channel.close()
            raise
        return channel

    def _await_fork(self) -> None:
        # The bwrap processes hold the runner's socket too, so a send can succeed after it died.
        ready, _, _ = select.select([self._socket], [], [], _FORK_TIMEOUT_S)
        if not ready:
            raise OSError(f"no answer within {_FORK_TIMEOUT_S:.0f} s")
        if self._socket.recv(1) != b"F":
            raise OSError("it has ended")

    def stderr_tail(self) -> str:
        self._stderr.seek(0, os.SEEK_END)
        size = self._stderr.tell()
        self._stderr.seek(max(0, size - 4000))
        return self._stderr.read().decode("utf-8", errors="replace").strip()

    def close(self) -> None:
        """Kill the runner's whole process group (the bwrap and all inside it) and remove its files."""
        with _all_lock:
            _all_runners.discard(self)
        self._socket.close()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        if self.mode == "subprocess":
            sandbox.kill_marked_processes(self.marker)
        self._remove_files()

    def _remove_files(self) -> None:
        self._stderr.close()
        shutil.rmtree(self.root, ignore_errors=True)


class SolutionChannel(FrameChannel):
    """The pipes to one solution child of a warm runner; closing it kills all that the solution left."""

    def __init__(self, runner: WarmRunner, uid: int, workdir: Path, ctl: int, res: int) -> None:
        self.runner = runner
        self.uid: int | None = uid
        self.workdir = workdir
        self._ctl, self._res = ctl, res
        self._buffer = b""
        self._stopped = False  # the child was told there are no more tests
        self._lost = False  # a receive failed: the child is gone or hung, do not wait for it again

    def send(self, frame: dict[str, Any]) -> None:
        self._stopped = self._stopped or bool(frame.get("stop"))
        super().send(frame)

    def receive(self, timeout_s: float) -> dict[str, Any]:
        try:
            return super().receive(timeout_s)
        except RunnerLost:
            self._lost = True
            raise

    def fail(self) -> None:
        """The runner did not serve this solution (no answer before any code ran): replace it."""
        self.runner.broken = True

    def stderr_tail(self) -> str:
        return self.runner.stderr_tail()

    def _cleaned_by_child(self) -> bool:
        """Ask the solution child to kill its uid's processes itself; False if it cannot answer."""
        if self._lost:
            return False
        try:
            if not self._stopped:
                self.send({"stop": True})
            # The child exits right after this answer; its uid is reused only after all other pool uids.
            return self.receive(_CLEANUP_TIMEOUT_S).get("event") == "cleaned"
        except RunnerLost:
            return False

    def close(self) -> None:
        cleaned = self.uid is not None and self._cleaned_by_child()
        for fd in (self._ctl, self._res):
            with contextlib.suppress(OSError):
                os.close(fd)
        if self.uid is None:
            return
        if not cleaned:  # the child died, hung or was never reached: kill the uid from outside
            sandbox.kill_uid_processes(self.uid)
        shutil.rmtree(self.workdir, ignore_errors=True)
        sandbox.release_uid(self.uid)  # only now: nothing of this uid is left to inherit the quota
        self.uid = None

    def __enter__(self) -> SolutionChannel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _ColdChannel(RunnerProcess):
    def fail(self) -> None:
        """Nothing to replace: this runner ends with its solution."""


def warm_enabled(mode: SandboxMode) -> bool:
    return os.environ.get(WARM_VAR, "1") != "0" and sandbox.can_drop_uid(mode)


def open_runner(job: dict[str, Any], limits: SandboxLimits) -> SolutionChannel | _ColdChannel:
    """A runner for one solution: a fork of this thread's warm runner, or a fresh cold one."""
    mode = sandbox.sandbox_mode()
    if not warm_enabled(mode):
        return _ColdChannel(job, limits)
    runner: WarmRunner | None = getattr(_local, "runner", None)
    if runner is not None and runner.usable(mode):
        with contextlib.suppress(RunnerLost):  # it died since the last solution: start afresh below
            return runner.open_solution(job, limits)
    if runner is not None:
        runner.close()
    _local.runner = None
    close_orphaned_runners()
    runner = _local.runner = WarmRunner(mode)
    return runner.open_solution(job, limits)


def close_all() -> None:
    """Stop every warm runner of this process (also run at exit)."""
    with _all_lock:
        runners = list(_all_runners)
    for runner in runners:
        runner.close()
    _local.runner = None


def close_orphaned_runners() -> None:
    """Close the runners of threads that have ended (a finished pool); only their thread used them."""
    # Such a runner usually died already (--die-with-parent and PR_SET_PDEATHSIG follow the starting
    # thread); this collects its process and files, and kills it where nothing did.
    with _all_lock:
        dead = [r for r in _all_runners if not r.owner.is_alive()]
    for runner in dead:
        runner.close()


atexit.register(close_all)
