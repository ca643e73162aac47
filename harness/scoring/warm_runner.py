"""Code runners: one long-lived sandboxed runner per grading thread, one supervisor fork per solution.

Starting a fresh sandboxed interpreter per solution (bwrap, `python -I`, the LiveCodeBench prelude)
costs more than running 2-3 public tests, so each grading thread keeps one runner ("warm") and asks it
for a supervisor per solution. On start the runner reports what it can give (a uid of each solution's
own, namespaces and a tmpfs per solution, seccomp); the harness records nothing it was not told.

Safety between solutions rests on the uid and the namespaces: each solution's processes run as uids
no other solution holds at the time (sandbox_uids), in a mount namespace with its own tmpfs; after a
solution every process of its uids is killed and only then are the uids returned. Without a uid drop
(a non-root harness) there is no such handle, so each solution gets a fresh runner of its own ("cold"),
as it does with HARNESS_WARM_RUNNER=0. A runner that died or stopped answering is killed with its
whole process group and replaced before the next solution.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any

from harness.scoring import sandbox
from harness.scoring.sandbox import FrameChannel, RunnerLost, SandboxLimits, SandboxMode
from harness.scoring.sandbox_uids import POOL, kill_uid_processes

WARM_VAR = "HARNESS_WARM_RUNNER"  # "0" forces a fresh runner per solution (for comparisons)

_START_TIMEOUT_S = 60.0
_FORK_TIMEOUT_S = 30.0
_CLEANUP_TIMEOUT_S = 10.0
_local = threading.local()
_all_runners: set[WarmRunner] = set()
_all_lock = threading.Lock()


class WarmRunner:
    """A started runner, owned by one thread, serving one solution at a time."""

    def __init__(self, mode: SandboxMode) -> None:
        self.mode = mode
        self.runner_dir = sandbox.RUNNER_DIR
        self.broken = False
        self.owner = threading.current_thread()
        self.marker = uuid.uuid4().hex
        # Without root there is no tmpfs of its own: solutions get folders under this one, bound in.
        self.root: Path | None = None if os.geteuid() == 0 else sandbox.host_workdir_root()
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close())
        self._socket, theirs = socket.socketpair()
        command = sandbox.runner_command(mode, self.root, self.marker, theirs.fileno())
        env = {**sandbox.minimal_env(str(self.root or "/tmp")), sandbox.MARKER_VAR: self.marker}
        try:
            self.proc = subprocess.Popen(
                command,
                cwd="/",
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=self._stderr,
                pass_fds=(theirs.fileno(),),
                start_new_session=True,
            )
        except OSError as exc:
            self._remove_files()
            raise RunnerLost(f"could not start the code runner ({command[0]}): {exc}") from exc
        finally:
            theirs.close()
        with _all_lock:
            _all_runners.add(self)
        try:
            self.capabilities = self._read_hello()
        except RunnerLost:
            self.close()
            raise

    def _read_hello(self) -> dict[str, bool]:
        line = b""
        while not line.endswith(b"\n"):
            ready, _, _ = select.select([self._socket], [], [], _START_TIMEOUT_S)
            chunk = self._socket.recv(4096) if ready else b""
            if not chunk:
                raise RunnerLost(f"the code runner did not start: {self.stderr_tail()[-500:]}")
            line += chunk
        capabilities: dict[str, bool] = json.loads(line)
        return capabilities

    def usable(self, mode: SandboxMode) -> bool:
        current = mode == self.mode and self.runner_dir == sandbox.RUNNER_DIR
        return current and not self.broken and self.proc.poll() is None

    def open_solution(self, job: dict[str, Any], limits: SandboxLimits) -> SolutionChannel:
        """Fork a supervisor in the runner and send it `job`; RunnerLost if the runner is gone."""
        uids = []
        if self.capabilities.get("uid_drop"):
            uids.append(POOL.take())
            if job["mode"] == "asserts":
                uids.append(POOL.take())  # the judge's: the candidate cannot signal or trace it
        workdir = None
        if self.root is not None:
            workdir = Path(tempfile.mkdtemp(prefix="s-", dir=self.root))
        ctl_read, ctl_write = os.pipe()
        res_read, res_write = os.pipe()
        channel = SolutionChannel(self, uids, workdir, ctl_write, res_read)
        try:
            socket.send_fds(self._socket, [b"R"], [ctl_read, res_write])
            self._await_fork()
        except OSError as exc:
            self.broken = True
            channel.close()
            raise RunnerLost(f"the code runner is not taking work ({exc})") from exc
        finally:
            os.close(ctl_read)
            os.close(res_write)
        extra = {
            "uid": uids[0] if uids else None,
            "judge_uid": uids[1] if len(uids) > 1 else None,
            "workdir": str(workdir) if workdir else None,
            "site_packages": sandbox.site_packages(),
            "limits": limits.as_job(),
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
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)


class SolutionChannel(FrameChannel):
    """The pipes to one supervisor; closing it kills all that the solution left and frees its uids."""

    def __init__(self, runner: WarmRunner, uids: list[int], workdir: Path | None, ctl: int, res: int) -> None:
        self.runner = runner
        self.uids = uids
        self.workdir = workdir
        self._ctl, self._res = ctl, res
        os.set_blocking(ctl, False)  # send() reads results while the supervisor's input is full
        self._buffer = bytearray()
        self._stopped = False  # the supervisor was told there are no more tests
        self._in_flight = 0  # tests sent whose results were not read
        self._lost = False  # a receive failed: the supervisor is gone or hung, do not wait for it again
        self.cold = False  # the runner serves only this solution and goes with it

    def send(self, meta: dict[str, Any], blob: bytes = b"") -> None:
        self._stopped = self._stopped or bool(meta.get("stop"))
        super().send(meta, blob)
        self._in_flight += "input" in meta

    def receive(self, timeout_s: float) -> tuple[dict[str, Any], bytes]:
        try:
            frame = super().receive(timeout_s)
        except RunnerLost:
            self._lost = True
            raise
        self._in_flight -= "status" in frame[0]
        return frame

    def fail(self) -> None:
        """The runner did not serve this solution (no answer before any code ran): replace it."""
        self.runner.broken = True

    def stderr_tail(self) -> str:
        return self.runner.stderr_tail()

    def _cleaned_by_supervisor(self) -> bool:
        if self._lost:
            return False
        try:
            if self._in_flight or not self._stopped:
                # Tests still in flight after the verdict was decided: end the running one now. The
                # supervisor may have finished and gone already; then "cleaned" is in the pipe.
                with contextlib.suppress(RunnerLost):
                    self.send({"stop": True, "abort": self._in_flight > 0})
            while True:  # skip test answers still in flight
                if self.receive(_CLEANUP_TIMEOUT_S)[0].get("event") == "cleaned":
                    return True
        except RunnerLost:
            return False

    def close(self) -> None:
        cleaned = bool(self.uids) and self._cleaned_by_supervisor()
        for fd in (self._ctl, self._res):
            with contextlib.suppress(OSError):
                os.close(fd)
        if self.cold:
            self.runner.close()  # kills everything inside its sandbox
        elif self.uids and not cleaned:  # the supervisor died or hung: kill the uids from outside
            for uid in self.uids:
                kill_uid_processes(uid)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
        for uid in self.uids:
            POOL.release(uid)  # only now: nothing of this uid is left
        self.uids = []

    def __enter__(self) -> SolutionChannel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def warm_enabled() -> bool:
    return os.environ.get(WARM_VAR, "1") != "0" and os.geteuid() == 0


def open_runner(job: dict[str, Any], limits: SandboxLimits) -> SolutionChannel:
    """A supervisor for one solution: from this thread's warm runner, or from a fresh cold one."""
    mode = sandbox.sandbox_mode()
    if not warm_enabled():
        runner = WarmRunner(mode)
        with _all_lock:
            _all_runners.discard(runner)  # owned by its one solution, closed with it
        try:
            channel = runner.open_solution(job, limits)
        except RunnerLost:
            runner.close()
            raise
        channel.cold = True
        return channel
    current: WarmRunner | None = getattr(_local, "runner", None)
    if current is not None and current.usable(mode):
        with contextlib.suppress(RunnerLost):  # it died since the last solution: start afresh below
            return current.open_solution(job, limits)
    if current is not None:
        current.close()
    _local.runner = None
    close_orphaned_runners()
    current = _local.runner = WarmRunner(mode)
    return current.open_solution(job, limits)


def runner_capabilities() -> dict[str, bool] | None:
    """What this thread's warm runner reported, if it has one."""
    current: WarmRunner | None = getattr(_local, "runner", None)
    return current.capabilities if current is not None else None


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
