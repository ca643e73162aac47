"""Process isolation for generated code: how the code runner is started, and how we talk to it.

Generated code never runs in the harness process or a fork of it. The runner (`_code_runner.py`) is a
fresh `python -I -S` started inside bubblewrap when it is usable (read-only system, no network, own
PID namespace, dies with us) and as a limited plain subprocess otherwise. The runner and what it runs
only ever see the files bound below (`_INSIDE`); they share nothing with the harness but two pipes.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

log = logging.getLogger(__name__)

# The runner's files (read at each start, so a test can point this at a broken copy); everything
# the runner imports is bound read-only into the sandbox at INSIDE_DIR.
RUNNER_DIR = Path(__file__).resolve().parent
_INSIDE = (
    "_code_runner.py", "_supervise.py", "_candidate.py", "_judge.py", "_confine.py", "_literal_codec.py",
    "_prelude.py",
)  # fmt: skip
INSIDE_DIR = "/opt/harness-runner"
SandboxMode = Literal["bwrap", "subprocess"]
MARKER_VAR = "HARNESS_SANDBOX_ID"  # lets the fallback mode find stray processes by their environment
_HEADER = struct.Struct(">II")
_MAX_META = 1 << 20
# The runner's capabilities inside bwrap when the harness is root: uid changes, namespaces and
# mounts (per-solution tmpfs, per-test IPC namespace), signalling its own candidates, and entering
# the folders of its throwaway uids. Candidates lose all of them when they drop to their own uid.
_RUNNER_CAPS = ("CAP_SETUID", "CAP_SETGID", "CAP_SYS_ADMIN", "CAP_KILL", "CAP_DAC_OVERRIDE")


class RunnerLost(RuntimeError):
    """The runner process ended or stopped answering (the caller decides whose fault that was)."""

    def __init__(self, message: str, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits for one solution; all of them enter the grader settings.

    Time is CPU time, as contest judges count it: `per_test_timeout_s` per test, and the solution's
    tests together at most min(global_timeout_s, (per_test + 1) * n_tests + 5) seconds. A wall-clock
    guard (`wall_guard_s`, by default 4 x per_test + 5) ends programs that sleep or wait: past it, a
    test that has made no CPU progress for 2 s is ended, and past 4 guards any test is.
    """

    per_test_timeout_s: float = 6.0
    global_timeout_s: float = 300.0
    memory_mb: int = 4096
    output_bytes: int = 32 * 1024 * 1024
    max_processes: int = 64
    disk_mb: int = 128  # each solution's writable folder (a tmpfs where the runner can mount one)
    wall_guard_s: float | None = None

    @property
    def wall_s(self) -> float:
        return self.wall_guard_s if self.wall_guard_s is not None else 4 * self.per_test_timeout_s + 5

    def as_job(self) -> dict[str, Any]:
        return {
            "cpu_s": self.per_test_timeout_s,
            "wall_s": self.wall_s,
            "memory_bytes": self.memory_mb * 1024 * 1024,
            "output_bytes": self.output_bytes,
            "processes": self.max_processes,
            "disk_bytes": self.disk_mb * 1024 * 1024,
        }


@functools.cache
def sandbox_mode() -> SandboxMode:
    """ "bwrap" when bubblewrap exists and works here, else "subprocess". Logged once."""
    forced = os.environ.get("HARNESS_SANDBOX")
    if forced in ("bwrap", "subprocess"):
        mode: SandboxMode = forced  # type: ignore[assignment]
    else:
        mode = "bwrap" if bwrap_works() else "subprocess"
    if mode == "subprocess":
        log.warning(
            "code sandbox: bubblewrap is not usable here, so generated code runs in a limited subprocess "
            "without filesystem isolation; install it with `apt-get install -y bubblewrap`"
        )
    else:
        log.info("code sandbox: bubblewrap")
    return mode


@functools.cache
def bwrap_works() -> bool:
    if shutil.which("bwrap") is None:
        return False
    try:
        probe = subprocess.run(
            [*_bwrap_prefix(None), "/bin/true"], capture_output=True, timeout=20, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return probe.returncode == 0


def _bwrap_prefix(host_workdir: Path | None) -> list[str]:
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
    for name in _INSIDE:
        args += ["--ro-bind", str(RUNNER_DIR / name), f"{INSIDE_DIR}/{name}"]
    args += ["--perms", "0755", "--dir", "/tmp"]
    if host_workdir is not None:  # no tmpfs of its own (not root): a host folder, bound in
        args += ["--bind", str(host_workdir), str(host_workdir)]
    args += ["--proc", "/proc", "--dev", "/dev", "--chdir", "/"]
    args += ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--as-pid-1"]
    args += ["--die-with-parent", "--new-session", "--clearenv"]
    if os.geteuid() == 0:
        args += ["--cap-drop", "ALL"]
        for cap in _RUNNER_CAPS:
            args += ["--cap-add", cap]
    return args


def minimal_env(home: str) -> dict[str, str]:
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": home, "TMPDIR": home}


def runner_command(mode: SandboxMode, host_workdir: Path | None, marker: str, sock_fd: int) -> list[str]:
    """The command line of a runner; `host_workdir` is bound in when it will not get a tmpfs of its own."""
    # -S skips site's .pth processing (about 45 ms per start in this venv); the runner puts the
    # site-packages folders on sys.path itself, so solutions can still import installed packages.
    if mode == "bwrap":
        env = minimal_env("/tmp")
        prefix = _bwrap_prefix(host_workdir)
        for key, value in {**env, MARKER_VAR: marker}.items():
            prefix += ["--setenv", key, value]
        runner = f"{INSIDE_DIR}/_code_runner.py"
        return [*prefix, sys.executable, "-I", "-S", runner, "--serve", str(sock_fd), mode]
    paths = sorted({sys.base_prefix, sys.prefix, str(RUNNER_DIR), *site_packages()})
    runner = str(RUNNER_DIR / "_code_runner.py")
    return [sys.executable, "-I", "-S", runner, "--serve", str(sock_fd), mode, *paths]


@functools.cache
def site_packages() -> list[str]:
    import site

    return [p for p in site.getsitepackages() if os.path.isdir(p)]


class FrameChannel:
    """Frames to a runner (`_ctl`) and back from it (`_res`): a ">II" header, JSON meta, a binary blob.

    Reading is linear in the frame size (a bytearray consumed from the front once per frame) and
    refuses frames larger than the limits, so a runner cannot make the harness pay more than that.
    """

    _ctl: int
    _res: int
    _buffer: bytearray
    max_blob: int = 64 * 1024 * 1024

    send_timeout_s: float = 60.0

    def send(self, meta: dict[str, Any], blob: bytes = b"") -> None:
        """Write one frame. While the runner's input is full, read what it sends back meanwhile: with
        several frames in flight both sides may be writing at once, and neither may wait for the other.
        """
        body = json.dumps(meta).encode()
        data = memoryview(_HEADER.pack(len(body), len(blob)) + body + blob)
        deadline = time.monotonic() + self.send_timeout_s
        try:
            while data:
                try:
                    data = data[os.write(self._ctl, data) :]
                    continue
                except BlockingIOError:
                    pass
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RunnerLost(f"the code runner took no input for {self.send_timeout_s:.0f} s")
                readable, _, _ = select.select([self._res], [self._ctl], [], left)
                if readable:
                    self._read_some()
        except OSError as exc:
            raise RunnerLost(f"the code runner stopped reading its input ({exc})") from exc

    def receive(self, timeout_s: float) -> tuple[dict[str, Any], bytes]:
        """The next frame (meta, blob), or RunnerLost when the runner ended or `timeout_s` passed."""
        deadline = time.monotonic() + timeout_s
        while True:
            frame = self._complete_frame()
            if frame is not None:
                return frame
            left = deadline - time.monotonic()
            if left <= 0:
                raise RunnerLost(f"no answer from the code runner within {timeout_s:.1f} s", timed_out=True)
            ready, _, _ = select.select([self._res], [], [], left)
            if ready:
                self._read_some()

    def _read_some(self) -> None:
        chunk = os.read(self._res, 1 << 20)
        if not chunk:
            raise RunnerLost(f"the code runner ended ({self._ended()})")
        self._buffer += chunk
        self._check_header()

    def _check_header(self) -> None:
        """Refuse an oversized frame as soon as its header is in, before its body is read."""
        if len(self._buffer) >= _HEADER.size:
            meta_size, blob_size = _HEADER.unpack_from(self._buffer)
            if meta_size > _MAX_META or blob_size > self.max_blob:
                raise RunnerLost(f"the code runner sent an oversized frame ({meta_size} + {blob_size} bytes)")

    def _complete_frame(self) -> tuple[dict[str, Any], bytes] | None:
        self._check_header()
        if len(self._buffer) < _HEADER.size:
            return None
        meta_size, blob_size = _HEADER.unpack_from(self._buffer)
        end = _HEADER.size + meta_size + blob_size
        if len(self._buffer) < end:
            return None
        meta = json.loads(self._buffer[_HEADER.size : _HEADER.size + meta_size])
        blob = bytes(self._buffer[_HEADER.size + meta_size : end])
        del self._buffer[:end]
        return meta, blob

    def _ended(self) -> str:
        return "end of its result pipe"


def host_workdir_root() -> Path:
    """A temporary folder for runners that cannot mount a tmpfs of their own."""
    return Path(tempfile.mkdtemp(prefix="harness-code-"))


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
                    os.kill(int(entry), 9)
                    killed += 1
        except OSError:
            continue
    return killed
