"""One test of one solution, as the supervisor runs it: fork, watch CPU time, clean up, classify.

The supervisor stays root where the harness is root (the candidate and the judge each run as their
own throwaway uid), so a solution can neither signal it nor open its descriptors. CPU time decides
`timeout`, as contest judges do: a test is ended when its process has used the limit, and a wall-clock
guard several times longer ends programs that sleep or wait. Before the next test, every process the
test left is killed (all processes of its uid, or all descendants without a uid of its own: the
supervisor is a child subreaper, so escapees from sessions come back to it) and its folder is renewed.

Standard library only: runs inside the sandbox.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import shutil
import signal
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import _confine

WORK = "/tmp"  # each solution's own tmpfs, where the runner can mount one
_COVERED = ("/var/tmp", "/dev/shm", "/run/lock", "/dev/mqueue")  # world-writable places outside bwrap
_FLAGS = frozenset(
    {"frames", "exit_trick", "kills", "writes_outside", "forged_output", "sandbox_probe", "network",
     "audit_tampering", "native_code"}
)  # fmt: skip
EXIT_NAMES = {3: "memory", 4: "load", 5: "not_data", 6: "system_exit"}


class Workspace:
    """The solution's writable folder: a size-limited tmpfs of its own, renewed when a test used it."""

    def __init__(self, job: dict[str, Any], caps: dict[str, bool]) -> None:
        self.uid: int | None = job.get("uid") if caps["uid_drop"] else None
        self.judge_uid: int | None = job.get("judge_uid") if caps["uid_drop"] else None
        self.privileged = caps["namespaces"]
        self.size = int(job["limits"]["disk_bytes"])
        self.path = WORK if self.privileged else str(job["workdir"])
        self._covers: list[str] = []
        self._fingerprint: tuple[int, ...] = ()

    def enter(self) -> None:
        if self.privileged:
            _confine.private_mounts()  # this solution's own copy of the runner's mounts
            self._covers = [d for d in _COVERED if os.path.isdir(d) and os.stat(d).st_mode & 0o002]
            self._mount()
        os.chdir(self.path)
        os.environ.update(HOME=self.path, TMPDIR=self.path)

    def _mount(self) -> None:
        _confine.mount_tmpfs(WORK, self.size, self.uid)
        for folder in self._covers:
            _confine.bind(WORK, folder)
        self._fingerprint = self._state()

    def _state(self) -> tuple[int, ...]:
        st, vfs = os.stat(WORK), os.statvfs(WORK)
        return (st.st_mtime_ns, st.st_ctime_ns, st.st_mode, st.st_uid, st.st_nlink, vfs.f_ffree, vfs.f_bfree)

    def renew(self) -> None:
        """Give the next test an empty folder (cheap: only when the last test changed anything)."""
        if not self.privileged:
            for entry in os.listdir(self.path):
                target = os.path.join(self.path, entry)
                if os.path.isdir(target) and not os.path.islink(target):
                    shutil.rmtree(target, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        os.unlink(target)
            return
        if self._state() == self._fingerprint:
            return
        os.chdir("/")
        for folder in [*self._covers, WORK]:
            _confine.umount(folder)
        self._mount()
        os.chdir(WORK)


class Control:
    """The harness's frames to this supervisor, read ahead while a test runs.

    The harness sends the next test before it has compared the last one (so the two overlap), and
    `{"stop": true}` after the last; `{"abort": true}` when a result decided the verdict, which ends
    the test in progress at once. End of input counts as an abort.
    """

    def __init__(self, fd: int, read_frame: Any) -> None:
        self.fd = fd
        self._read_frame = read_frame
        self._queue: deque[dict[str, Any]] = deque()
        self.aborted = False

    def read(self) -> None:
        """Take one frame from the harness (the caller saw the descriptor readable, or must wait)."""
        frame = self._read_frame(self.fd)
        meta = frame[0] if frame is not None else {"stop": True, "abort": True}
        self.aborted = self.aborted or bool(meta.get("abort"))
        self._queue.append(meta)

    def next_test(self) -> dict[str, Any] | None:
        """The next test to run, or None once the harness said stop (or abort, or went away)."""
        if not self._queue and not self.aborted:
            self.read()
        meta = self._queue.popleft() if self._queue else {"stop": True}
        return None if meta.get("stop") or self.aborted else meta

    def drain(self) -> None:
        """Read and ignore the harness's frames until its stop (after a compile error)."""
        while self.next_test() is not None:
            pass


@dataclass
class Ended:
    status: int  # as from waitpid
    cpu_s: float


def _spawn(body: Any) -> int:
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            status = body()
        except BaseException as exc:
            with contextlib.suppress(BaseException):
                os.write(2, f"{type(exc).__name__}: {exc}\n".encode()[:500])
        os._exit(status)
    return pid


def _memfd(name: str, content: bytes | None = None) -> int:
    fd = os.memfd_create(name, os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    if content is not None:
        view = memoryview(content)
        while view:
            view = view[os.write(fd, view) :]
        os.lseek(fd, 0, os.SEEK_SET)
        seals = fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, seals)
    return fd


def _tail(fd: int, limit: int) -> bytes:
    size = os.fstat(fd).st_size
    return os.pread(fd, limit, max(0, size - limit))


def run_test(
    job: dict[str, Any], code: Any, base: dict[str, Any], test: dict[str, Any], workspace: Workspace,
    candidate: Any, judge: Any, control: Control,
) -> tuple[dict[str, Any], bytes]:  # fmt: skip
    """Run one test; the result frame's meta and blob (the output or return value to compare).

    An abort from the harness while it runs ends it (the caller then sends no result)."""
    workspace.renew()
    mode, limits = job["mode"], job["limits"]
    stdin = _memfd("stdin", test["input"].encode() if mode == "stdio" else b"")
    stdout, stderr, audit = _memfd("stdout"), _memfd("stderr"), _memfd("audit")
    ours = [stdout, stderr, audit]
    theirs = [stdin]
    cand_fds = {0: stdin, 1: stdout, 2: stderr, 5: audit}
    judge_fds: dict[int, int] = {}
    if mode == "functional":
        cand_fds[3] = _memfd("value")
        ours.append(cand_fds[3])
    elif mode == "asserts":
        calls_r, calls_w = os.pipe()
        replies_r, replies_w = os.pipe()
        result_r, result_w = os.pipe()
        cand_fds.update({3: calls_r, 4: replies_w})
        judge_fds = {3: calls_w, 4: replies_r, 5: result_w}
        theirs += [calls_r, calls_w, replies_r, replies_w, result_w]
        ours.append(result_r)
    privileged = workspace.privileged

    def candidate_body() -> int:
        candidate.become_candidate(job, cand_fds, workspace.uid, privileged)
        return int(candidate.run(job, code, base, test))

    def judge_body() -> int:
        judge.become_judge(job, judge_fds, workspace.judge_uid, privileged)
        judge.report(judge.judge(job, test, base))
        return 0

    start = time.monotonic()
    cand_pid = _spawn(candidate_body)
    judge_pid = _spawn(judge_body) if mode == "asserts" else None
    for fd in theirs:
        os.close(fd)
    try:
        ended, reason = _watch(cand_pid, judge_pid, float(limits["cpu_s"]), float(limits["wall_s"]), control)
        wall = time.monotonic() - start
        leftovers = _clean_up(workspace.uid, workspace.judge_uid)
        return _classify(job, ended[cand_pid], ended.get(judge_pid or -1), reason, wall, leftovers, ours)
    finally:
        for fd in ours:
            os.close(fd)


_IDLE_S = 2.0  # no CPU progress for this long, past the wall guard: the test is waiting, not computing
_PROGRESS_S = 0.02  # at least two clock ticks of CPU count as progress
_HARD_CAP_FACTOR = 4  # past this many wall guards a test ends whatever it does


def _watch(
    cand_pid: int, judge_pid: int | None, cpu_limit: float, wall_guard: float, control: Control
) -> tuple[dict, str | None]:
    """Wait for the test's processes, ending any that passes the CPU limit, or all of them once they
    have been waiting (no CPU progress) past the wall-clock guard.

    A program that computes keeps going under any load until its CPU time is up, so a busy machine
    cannot turn a pass into a timeout; only a sleeping or blocked one is ended by the clock.
    """
    start = time.monotonic()
    pidfds = {pid: os.pidfd_open(pid) for pid in (cand_pid, judge_pid) if pid is not None}
    ended: dict[int, Ended] = {}
    reason: str | None = None
    poll, progress_cpu, progress_at = 0.02, 0.0, start
    try:
        while len(ended) < len(pidfds):
            waiting = {fd: pid for pid, fd in pidfds.items() if pid not in ended}
            listen = [*waiting, control.fd] if not control.aborted else list(waiting)
            ready, _, _ = select.select(listen, [], [], poll)
            for fd in ready:
                if fd == control.fd:
                    control.read()
                    continue
                _, status, usage = os.wait4(waiting[fd], 0)
                ended[waiting[fd]] = Ended(status, usage.ru_utime + usage.ru_stime)
            if control.aborted:
                for pid in pidfds:
                    if pid not in ended:
                        _kill(pid)
                reason = reason or "aborted"
            if judge_pid in ended and cand_pid not in ended:
                _kill(cand_pid)  # the judge has decided; the candidate's part is over
            now, total_cpu = time.monotonic(), 0.0
            for pid in pidfds:
                cpu = ended[pid].cpu_s if pid in ended else _confine.cpu_seconds(pid)
                total_cpu += cpu
                if pid not in ended and cpu > cpu_limit:
                    _kill(pid)
                    reason = reason or ("cpu" if pid == cand_pid else "judge_cpu")
            if total_cpu - progress_cpu >= _PROGRESS_S:
                progress_cpu, progress_at = total_cpu, now
            idle = now - progress_at > _IDLE_S
            if now - start > wall_guard and (idle or now - start > _HARD_CAP_FACTOR * wall_guard):
                for pid in pidfds:
                    if pid not in ended:
                        _kill(pid)
                reason = reason or "wall"
            poll = min(poll * 2, 0.1)
    finally:
        for fd in pidfds.values():
            os.close(fd)
    return ended, reason


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _clean_up(uid: int | None, judge_uid: int | None) -> bool:
    """Kill everything the test left running; True if anything was left (setsid children included)."""
    if _no_children_left():
        return False
    for _ in range(100):
        if uid is not None:
            _confine.kill_uid(uid)
            if judge_uid is not None:
                _confine.kill_uid(judge_uid)
        else:
            _confine.kill_descendants(os.getpid())
        deadline = time.monotonic() + 0.2
        while time.monotonic() < deadline:
            if _no_children_left():
                return True
            time.sleep(0.002)
    return True


def _no_children_left() -> bool:
    """Reap what has ended; True once this supervisor has no child at all (orphans come here too)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return True
        if pid == 0:
            return False


def _classify(
    job: dict[str, Any], cand: Ended, judge: Ended | None, reason: str | None, wall: float,
    leftovers: bool, fds: list[int],
) -> tuple[dict[str, Any], bytes]:  # fmt: skip
    mode, limits = job["mode"], job["limits"]
    stdout, stderr, audit = fds[0], fds[1], fds[2]
    flags = {line for line in os.pread(audit, 4096, 0).decode(errors="replace").split() if line in _FLAGS}
    if leftovers:
        flags.add("left_processes")
    err = _tail(stderr, 2000).decode(errors="replace").strip()
    meta: dict[str, Any] = {"cpu_s": round(cand.cpu_s, 3), "wall_s": round(wall, 3)}

    def done(status: str, detail: str = "", blob: bytes = b"") -> tuple[dict[str, Any], bytes]:
        meta.update(status=status, detail=detail[-500:], flags=sorted(flags))
        return meta, blob

    if cand.cpu_s > limits["cpu_s"] or reason == "cpu":
        return done("timeout", f"CPU time limit of {limits['cpu_s']} s")
    if reason == "wall":
        return done("timeout", f"no result after {wall:.0f} s: the program was waiting, not computing")
    if reason == "judge_cpu":
        return done("timeout", "the tests ran out of CPU time on the solution's results")
    if mode == "asserts":
        return _classify_asserts(cand, judge, err, os.read(fds[3], 65536), limits, done, flags)
    problem = _process_problem(cand.status, err, limits)
    if problem is not None:
        return done(*problem)
    if mode == "stdio":
        return done("ok", "", os.pread(stdout, limits["output_bytes"] + 1, 0))
    value = os.pread(fds[3], limits["output_bytes"] + 1, 0)
    if not value:
        flags.add("exit_trick")
        return done("runtime_error", "the solution exited before returning a value")
    return done("ok", "", value)


def _process_problem(status: int, err: str, limits: dict[str, Any]) -> tuple[str, str] | None:
    """The verdict a process's exit status means by itself, or None for a clean exit."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU:
            return "timeout", f"CPU time limit of {limits['cpu_s']} s"
        if sig == signal.SIGXFSZ:
            return "output_limit", f"output exceeded {limits['output_bytes']} bytes"
        if "memory" in err.lower():
            return "memory_limit", err[-300:]
        return "runtime_error", f"killed by signal {signal.Signals(sig).name}. {err[-300:]}".strip()
    code = os.WEXITSTATUS(status)
    if code == 3:
        return "memory_limit", err[-300:] or "MemoryError"
    if code == 5:
        return "wrong_answer", err[-300:]
    if code != 0:
        return "runtime_error", err[-300:] or f"exit status {code}"
    return None


_JUDGE_STATUS = {
    "passed": "passed",
    "failed": "wrong_answer",
    "not_data": "wrong_answer",
    "limitation": "wrong_answer",
    "raised": "runtime_error",
    "error": "runtime_error",
    "exited": "runtime_error",
    "load_error": "runtime_error",
    "protocol": "runtime_error",
    "judge_error": "infra_error",
}


def _classify_asserts(
    cand: Ended, judge: Ended | None, err: str, raw: bytes, limits: dict[str, Any], done: Any, flags: set[str]
) -> tuple[dict[str, Any], bytes]:
    try:
        result = json.loads(raw) if raw else {}
    except ValueError:
        result = {}
    status = result.get("status")
    detail = str(result.get("detail", ""))
    if status in _JUDGE_STATUS:
        if status == "exited":
            flags.add("exit_trick")
        return done(_JUDGE_STATUS[status], detail)
    if status == "gone" or (judge is not None and judge.status == 0 and not result):
        problem = _process_problem(cand.status, err, limits)
        if problem is not None:
            return done(*problem)
        flags.add("exit_trick")
        return done("runtime_error", "the solution's process ended during the tests")
    judge_status = judge.status if judge is not None else -1
    return done("infra_error", f"the judge process gave no result (wait status {judge_status})")
