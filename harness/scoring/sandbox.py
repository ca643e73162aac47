"""Process isolation for generated code: start the runner in a fresh, limited child and talk to it.

Generated code never runs in the harness process or a fork of it. Each solution gets a fresh
`python -I` interpreter (the runner, `_code_runner.py`) in its own temporary directory, inside
bubblewrap when it is usable (read-only system, no network, own PID namespace, dies with us) and in a
limited plain subprocess otherwise. When the harness runs as root the runner drops to a throwaway uid
so that RLIMIT_NPROC can stop fork bombs (the limit never binds root).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import queue
import select
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

log = logging.getLogger(__name__)

RUNNER = Path(__file__).with_name("_code_runner.py")
SandboxMode = Literal["bwrap", "subprocess"]
MARKER_VAR = "HARNESS_SANDBOX_ID"  # lets the fallback mode find stray processes by their environment
_HEADER = struct.Struct(">I")
_STDERR_CAP = 4000


class RunnerLost(RuntimeError):
    """The runner process ended or stopped answering (the caller decides whose fault that was)."""

    def __init__(self, message: str, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits for one solution; all of them enter the grader settings."""

    per_test_timeout_s: float = 6.0
    global_timeout_s: float = 300.0
    memory_mb: int = 4096
    output_bytes: int = 32 * 1024 * 1024
    max_processes: int = 64


@functools.cache
def sandbox_mode() -> SandboxMode:
    """ "bwrap" when bubblewrap exists and works here, else "subprocess". Logged once."""
    forced = os.environ.get("HARNESS_SANDBOX")
    if forced in ("bwrap", "subprocess"):
        mode: SandboxMode = forced  # type: ignore[assignment]
    else:
        mode = "bwrap" if _bwrap_works() else "subprocess"
    if mode == "subprocess":
        log.warning(
            "code sandbox: bubblewrap is not usable here, so generated code runs in a limited subprocess "
            "without network or filesystem isolation; install it with `apt-get install -y bubblewrap`"
        )
    else:
        log.info("code sandbox: bubblewrap")
    return mode


def _bwrap_works() -> bool:
    if shutil.which("bwrap") is None:
        return False
    try:
        probe = subprocess.run(
            [*_bwrap_prefix(Path(tempfile.gettempdir())), "/bin/true"],
            capture_output=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return probe.returncode == 0


def _bwrap_prefix(workdir: Path) -> list[str]:
    args = ["bwrap", "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    for top in ("/bin", "/sbin", "/lib", "/lib64", "/lib32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    for path in sorted({sys.base_prefix, sys.prefix, os.path.dirname(os.path.realpath(sys.executable))}):
        if not path.startswith("/usr/"):
            # bwrap would copy a 0700 parent such as /root, locking the throwaway uid out of the stdlib.
            for parent in reversed(Path(path).parents[:-1]):
                args += ["--perms", "0755", "--dir", str(parent)]
            args += ["--ro-bind", path, path]
    args += ["--ro-bind", str(RUNNER), str(RUNNER)]
    for parent in reversed(workdir.parents[:-1]):  # else bwrap makes /tmp 0700: HOME unreachable by path
        args += ["--perms", "0755", "--dir", str(parent)]
    args += ["--bind", str(workdir), str(workdir)]
    args += ["--chdir", str(workdir), "--proc", "/proc", "--dev", "/dev"]
    args += ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts"]
    args += ["--die-with-parent", "--new-session", "--clearenv"]
    for key, value in _minimal_env(workdir).items():
        args += ["--setenv", key, value]
    if os.geteuid() == 0:  # the runner needs these two only to drop to its throwaway uid
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    return args


def _minimal_env(workdir: Path) -> dict[str, str]:
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(workdir)}


# Each concurrent solution gets its own uid, so one fork bomb cannot use up another's process quota.
_UID_BASE = 200_000 + (os.getpid() % 2000) * 256
_free_uids: queue.SimpleQueue[int] = queue.SimpleQueue()
for _i in range(256):
    _free_uids.put(_UID_BASE + _i)


@functools.cache
def _site_packages() -> list[str]:
    import site

    return [p for p in site.getsitepackages() if os.path.isdir(p)]


def _interpreter_reachable_by_others() -> bool:
    """Whether a non-root uid can run this interpreter outside bwrap (e.g. not under a 0700 /root)."""
    for path in (Path(sys.base_prefix), Path(sys.prefix), RUNNER.parent):
        for part in (path, *path.parents):
            if not os.stat(part).st_mode & stat.S_IXOTH:
                return False
    return True


class FrameChannel:
    """Length-prefixed JSON frames to a runner (`_ctl`) and back from it (`_res`)."""

    _ctl: int
    _res: int
    _buffer = b""

    def send(self, frame: dict[str, Any]) -> None:
        body = json.dumps(frame).encode()
        data = memoryview(_HEADER.pack(len(body)) + body)
        try:
            while data:
                data = data[os.write(self._ctl, data) :]
        except (BrokenPipeError, OSError) as exc:
            raise RunnerLost(f"the code runner stopped reading its input ({exc})") from exc

    def receive(self, timeout_s: float) -> dict[str, Any]:
        """The next frame, or RunnerLost when the runner ended or `timeout_s` passed first."""
        deadline = time.monotonic() + timeout_s
        while True:
            if len(self._buffer) >= _HEADER.size:
                size = _HEADER.unpack(self._buffer[: _HEADER.size])[0]
                if len(self._buffer) >= _HEADER.size + size:
                    body = self._buffer[_HEADER.size : _HEADER.size + size]
                    self._buffer = self._buffer[_HEADER.size + size :]
                    return json.loads(body)
            left = deadline - time.monotonic()
            if left <= 0:
                raise RunnerLost(f"no answer from the code runner within {timeout_s:.1f} s", timed_out=True)
            ready, _, _ = select.select([self._res], [], [], left)
            if ready:
                chunk = os.read(self._res, 1 << 20)
                if not chunk:
                    raise RunnerLost(f"the code runner ended ({self._ended()})")
                self._buffer += chunk

    def _ended(self) -> str:
        return "end of its result pipe"


class RunnerProcess(FrameChannel):
    """One runner child: send it frames, read its answers, and kill everything it started on close."""

    def __init__(self, job: dict[str, Any], limits: SandboxLimits) -> None:
        self.mode = sandbox_mode()
        self.workdir = Path(tempfile.mkdtemp(prefix="harness-code-"))
        self.marker = uuid.uuid4().hex
        self.uid: int | None = None
        if can_drop_uid(self.mode):
            self.uid = _free_uids.get()
            os.chown(self.workdir, self.uid, self.uid)
        self._buffer = b""
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close())
        ctl_read, self._ctl = os.pipe()
        self._res, res_write = os.pipe()
        # -S skips site's .pth processing (about 45 ms per start in this venv); the runner puts the
        # site-packages folders on sys.path itself, so solutions can still import installed packages.
        command = [sys.executable, "-I", "-S", str(RUNNER), str(ctl_read), str(res_write)]
        env = {**_minimal_env(self.workdir), MARKER_VAR: self.marker}
        if self.mode == "bwrap":
            command = [*_bwrap_prefix(self.workdir), "--setenv", MARKER_VAR, self.marker, *command]
        try:
            self.proc = subprocess.Popen(
                command,
                cwd=self.workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=self._stderr,
                pass_fds=(ctl_read, res_write),
                start_new_session=True,
            )
        except OSError as exc:
            self._cleanup_files()
            raise RunnerLost(f"could not start the code runner ({command[0]}): {exc}") from exc
        finally:
            os.close(ctl_read)
            os.close(res_write)
        extra = {"uid": self.uid, "max_processes": limits.max_processes, "site_packages": _site_packages()}
        self.send({**job, **extra})

    def _ended(self) -> str:
        return f"exit status {self.proc.poll()}"

    def stderr_tail(self) -> str:
        self._stderr.seek(0, os.SEEK_END)
        size = self._stderr.tell()
        self._stderr.seek(max(0, size - _STDERR_CAP))
        return self._stderr.read().decode("utf-8", errors="replace").strip()

    def close(self) -> None:
        """Kill the runner's whole session (and, outside bwrap, anything carrying our marker)."""
        for fd in (self._ctl, self._res):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        if self.mode == "subprocess":
            kill_marked_processes(self.marker)
        self._cleanup_files()

    def _cleanup_files(self) -> None:
        self._stderr.close()
        shutil.rmtree(self.workdir, ignore_errors=True)
        if self.uid is not None:
            _free_uids.put(self.uid)
            self.uid = None

    def __enter__(self) -> RunnerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def can_drop_uid(mode: SandboxMode) -> bool:
    """Whether solutions can run under a throwaway uid (root harness, and the stdlib readable by it)."""
    return os.geteuid() == 0 and (mode == "bwrap" or _interpreter_reachable_by_others())


def take_uid() -> int:
    return _free_uids.get()


def release_uid(uid: int) -> None:
    _free_uids.put(uid)


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
        _kill_uid_by_scanning(uid)


def _kill_uid_by_scanning(uid: int) -> None:
    # Fallback without a `kill` binary: repeat until a pass finds none (RLIMIT_NPROC bounds the work).
    for _ in range(50):
        found = 0
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                with contextlib.suppress(OSError):
                    if os.stat(f"/proc/{entry}").st_uid == uid:
                        os.kill(int(entry), signal.SIGKILL)
                        found += 1
        if not found:
            return
        time.sleep(0.01)


def kill_marked_processes(marker: str) -> int:
    """SIGKILL every process whose environment carries `marker` (escapees from setsid/double fork)."""
    needle = f"{MARKER_VAR}={marker}".encode()
    killed = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if needle in f.read().split(b"\0"):
                    os.kill(int(entry), signal.SIGKILL)
                    killed += 1
        except OSError:
            continue
    return killed
