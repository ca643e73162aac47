"""Isolation guarantees of the code sandbox beyond verdicts: what crosses between solutions and tests,
what reaches the host, what is left running, and that the harness survives."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from harness.scoring import sandbox, warm_runner
from harness.scoring.code_grader import CodeResult, grade_stdio
from harness.scoring.sandbox import SandboxLimits, sandbox_mode
from harness.scoring.sandbox_uids import BLOCK_SIZE, POOL, UID_BASE
from harness.types import Verdict

LIMITS = SandboxLimits(
    per_test_timeout_s=1.5, memory_mb=512, output_bytes=1 << 20, disk_mb=16, wall_guard_s=8
)
MARKER = "h4-hostile-marker-7f3a"
ONE_TEST = [{"input": "", "output": "42"}]


def run(code: str, tests: list[dict[str, str]] | None = None) -> CodeResult:
    return grade_stdio(code, tests or ONE_TEST, LIMITS)


def output_of(code: str) -> str:
    """What a program printed, read back through a test that cannot pass."""
    detail = run(code, [{"input": "", "output": "\x00never"}]).detail or ""
    return detail.split(", got ", 1)[1].strip("'") if ", got " in detail else detail


def processes_with(text: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if text.encode() in cmdline:
                found.append(int(entry))
    return found


def _status_field(pid: int, name: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def our_uids(uid: int | None) -> bool:
    return uid is not None and any(
        UID_BASE + b * BLOCK_SIZE <= uid < UID_BASE + (b + 1) * BLOCK_SIZE for b in POOL.blocks
    )


def solution_processes() -> list[int]:
    """Processes running as any of this process's throwaway uids, once killed ones had time to exit."""
    deadline = time.monotonic() + 3
    while True:
        found = [
            int(e) for e in os.listdir("/proc") if e.isdigit() and our_uids(_status_field(int(e), "Uid"))
        ]
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


@pytest.fixture(params=["bwrap", "subprocess"])
def mode(request, monkeypatch):
    """Every check runs under bubblewrap (when installed) and under the plain fallback."""
    if request.param == "bwrap" and not sandbox.bwrap_works():
        pytest.skip("bubblewrap is not usable on this machine (apt-get install -y bubblewrap)")
    monkeypatch.setenv("HARNESS_SANDBOX", request.param)
    sandbox_mode.cache_clear()
    yield request.param
    sandbox_mode.cache_clear()


@pytest.fixture
def rooted(mode):
    """The guarantees that rest on a uid and namespaces of each solution's own (a root harness)."""
    if os.geteuid() != 0:
        pytest.skip("without root there is no throwaway uid, tmpfs or IPC namespace per solution")
    return mode


def test_environment_secret_is_not_visible(mode, monkeypatch):
    monkeypatch.setenv("H4_SECRET_TOKEN", "hunter2")
    assert output_of("import os\nprint(os.environ.get('H4_SECRET_TOKEN', 'absent'))\n") == "absent"


def test_host_files_are_neither_read_nor_written(rooted, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("classified")
    target = tmp_path / "pwned.txt"
    code = (
        f"try:\n    print(open({str(secret)!r}).read())\nexcept OSError as e:\n    print(type(e).__name__)\n"
        f"try:\n    open({str(target)!r}, 'w').write('x')\nexcept OSError:\n    pass\n"
    )
    assert output_of(code) in ("FileNotFoundError", "PermissionError")
    assert not target.exists()


def test_network_is_unreachable(rooted):
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    accepted: list[object] = []
    threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True).start()
    code = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1)\nprint(42)\n"
    result = run(code)
    server.close()
    assert result.verdict == Verdict.RUNTIME_ERROR
    assert accepted == []


def test_keyring_ipc_and_memfd_are_refused(mode):
    code = (
        "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "keyctl = libc.syscall(248, b'user', b'h4', b'secret', 6, -4)\nkey_errno = ctypes.get_errno()\n"
        "shm = libc.shmget(0x4834, 4096, 0o1666)\nshm_errno = ctypes.get_errno()\n"
        "try:\n    os.memfd_create('x')\n    memfd = 'made'\nexcept OSError as e:\n    memfd = e.errno\n"
        "msg = libc.syscall(68, 0x4834, 0o1666)\nmsg_errno = ctypes.get_errno()\n"
        "mq = libc.syscall(240, b'h4-queue', 0o100 | 2, 0o600, None)\nmq_errno = ctypes.get_errno()\n"
        "print(keyctl, key_errno, shm, shm_errno, memfd, msg, msg_errno, mq, mq_errno)\n"
    )
    if os.uname().machine != "x86_64":
        pytest.skip("the probe uses x86-64 system call numbers")
    assert output_of(code) == "-1 1 -1 1 1 -1 1 -1 1"  # EPERM from the seccomp list
    with open("/proc/sysvipc/shm") as f:
        assert "4834" not in f.read().lower()  # nothing reached the host's IPC namespace


def test_the_candidate_holds_no_privilege(rooted):
    code = (
        "import os\nfields = dict(line.split(':', 1) for line in open('/proc/self/status'))\n"
        "caps = [int(fields[k], 16) for k in ('CapInh', 'CapPrm', 'CapEff', 'CapAmb')]\n"
        "print(os.getuid() != 0, caps, fields['NoNewPrivs'].strip(), fields['Seccomp'].strip())\n"
    )
    assert output_of(code) == "True [0, 0, 0, 0] 1 2"


def test_the_writable_folder_is_a_small_tmpfs(rooted):
    code = (
        "import os\nwritten = 0\n"
        "try:\n    for i in range(100):\n        with open(f'f{i}', 'wb') as f:\n"
        "            f.write(b'x' * (1 << 19))\n            written += 1 << 19\n"
        "except OSError as e:\n    print(written >> 20, e.errno)\n"
    )
    megabytes, errno = output_of(code).split()
    assert int(errno) == 28 and int(megabytes) <= LIMITS.disk_mb  # ENOSPC at the solution's own cap


def test_each_test_starts_with_an_empty_folder(rooted):
    code = "import os\nprint(sorted(os.listdir('.')))\nopen('left-by-a-test', 'w').write('x')\n"
    result = run(code, [{"input": "", "output": "[]"}, {"input": "", "output": "[]"}])
    assert result.verdict == Verdict.PASSED, result.detail


def test_cpu_time_decides_timeout_not_sleep(rooted):
    # 2 s of sleep is past the 1.5 s CPU limit in wall time, but uses no CPU: a contest judge passes it.
    assert run("import time\ntime.sleep(2)\nprint(42)\n").verdict == Verdict.PASSED


def test_pid1_shows_no_host_paths_under_bwrap(mode):
    if mode != "bwrap":
        pytest.skip("outside bwrap the host's /proc is visible; only bwrap gives a PID namespace")
    # argv[0] (the interpreter, under the checkout's own path) is left out: the failure detail that
    # carries the output is cut short, and a long checkout path would push the rest out of it.
    shown = output_of("print(' '.join(open('/proc/1/cmdline').read().split('\\0')[1:]))")
    # bwrap's own command line (every bind, with its host path) is not there: the runner is pid 1.
    assert "--ro-bind" not in shown and str(sandbox.RUNNER_DIR) not in shown
    assert "/opt/harness-runner/_code_runner.py" in shown


def test_killing_everything_leaves_the_harness_unharmed(rooted):
    code = (
        "import os, signal\n"
        "for target in [-1, 1, os.getppid()] + [int(p) for p in os.listdir('/proc') if p.isdigit()]:\n"
        "    if target != os.getpid():\n"
        "        try:\n            os.kill(target, signal.SIGKILL)\n"
        "        except OSError:\n            pass\n"
        "print(42)\n"
    )
    assert run(code).verdict == Verdict.PASSED  # it could reach none of ours, so its answer stands
    assert run("print(42)").verdict == Verdict.PASSED


def test_background_child_does_not_outlive_the_solution(mode):
    code = (
        "import os, sys\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        f"    os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(60)', '{MARKER}'])\n"
        "print(42)\n"
    )
    assert run(code).verdict == Verdict.PASSED
    time.sleep(0.3)
    assert processes_with(MARKER) == []


POLLUTER = """
import builtins, math, os, collections, sys
open('leftover.txt', 'w').write('x')
open(os.path.join(os.environ['HOME'], 'home-leftover.txt'), 'w').write('x')
try:
    open('../planted.txt', 'w').write('x')
except OSError:
    pass
math.pi = 3
collections.Counter = None
builtins.len = lambda x: -1
builtins.LEAKED = True
sys.modules['json'].dumps = None
os.environ['LEAK'] = '1'
kept = os.open('leftover.txt', os.O_RDONLY)
os.dup2(kept, 63)
print(42)
"""
PROBE = """
import builtins, math, os, collections, sys, json
bad = [name for name, found in [
    ('file', os.path.exists('leftover.txt') or os.path.exists(os.environ['HOME'] + '/home-leftover.txt')),
    ('parent', os.path.exists('../planted.txt')),
    ('math', math.pi != 3.141592653589793),
    ('collections', collections.Counter is None or Counter is None),
    ('builtins', len([1, 2]) != 2 or hasattr(builtins, 'LEAKED')),
    ('module', json.dumps is None or sys.modules['json'].dumps is None),
    ('env', 'LEAK' in os.environ),
    ('fd', 63 in [int(f) for f in os.listdir('/proc/self/fd')]),
] if found]
print(bad or 42)
"""


@pytest.fixture
def warm(mode):
    """A warm runner for this thread, in each mode where solutions get their own uid."""
    if not warm_runner.warm_enabled():
        pytest.skip("no throwaway uid here (not root), so each solution gets a fresh runner")
    assert run("print(42)").verdict == Verdict.PASSED
    return warm_runner._local.runner


def runner_python_pid(runner: warm_runner.WarmRunner) -> int:
    """The runner's Python process (under bwrap, the child of the bwrap we started)."""
    if runner.mode == "subprocess":
        return runner.proc.pid
    for pid in processes_with("--serve"):
        if _status_field(pid, "PPid") == runner.proc.pid:
            return pid
    raise AssertionError("no runner process found")


def test_warm_runner_state_does_not_reach_the_next_solution(warm):
    pid = runner_python_pid(warm)
    assert run(PROBE).verdict == Verdict.PASSED
    assert run(POLLUTER).verdict == Verdict.PASSED
    result = run(PROBE)
    assert result.verdict == Verdict.PASSED, result.detail
    assert warm_runner._local.runner is warm and runner_python_pid(warm) == pid  # the same warm process


def test_dead_warm_runner_is_replaced(warm):
    os.kill(runner_python_pid(warm), 9)
    result = run("print(42)")
    assert result.verdict == Verdict.PASSED and result.infra_attempts == 0
    assert warm_runner._local.runner is not warm
    # Killed while a solution runs: the solution could not have done it (it cannot signal the
    # runner), so that is an infrastructure failure, retried once on a fresh runner.
    replacement = warm_runner._local.runner
    killer = threading.Timer(0.5, lambda: os.kill(runner_python_pid(replacement), 9))
    killer.start()
    result = run("import time\ntime.sleep(1)\nprint(42)\n")
    assert result.verdict == Verdict.PASSED and result.infra_attempts == 1
    killer.join()
    assert run("print(42)").verdict == Verdict.PASSED
    assert solution_processes() == []


def test_no_strays_after_the_suite_and_harness_still_works():
    time.sleep(0.3)
    assert processes_with(MARKER) == []
    assert solution_processes() == []
    warm_runner.close_all()
    deadline = time.monotonic() + 3  # bwrap's inner process dies with the outer one, asynchronously
    while processes_with("_code_runner.py --serve") and time.monotonic() < deadline:
        time.sleep(0.05)
    mine = [p for p in processes_with("_code_runner.py") if _status_field(p, "PPid") == os.getpid()]
    assert mine == []
    assert grade_stdio("print(input())", [{"input": "7\n", "output": "7"}]).verdict == Verdict.PASSED
    warm_runner.close_all()


def test_grading_code_does_not_import_torch():
    # Other tests in this process load models, so the check runs in a fresh interpreter.
    probe = (
        "import sys\n"
        "from harness.scoring.code_grader import grade_stdio\n"
        "from harness.scoring import warm_runner\n"
        "r = grade_stdio('print(input())', [{'input': '7\\n', 'output': '7'}])\n"
        "warm_runner.close_all()\n"
        "print(r.verdict.value, 'torch' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [Verdict.PASSED.value, "False"]
