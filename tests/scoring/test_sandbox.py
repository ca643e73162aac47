"""Hostile programs against the code sandbox: each gets its expected verdict and nothing may leak."""

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
from harness.scoring.code_grader import CodeResult, grade_functional, grade_stdio
from harness.scoring.sandbox import SandboxLimits, sandbox_mode
from harness.types import Verdict

LIMITS = SandboxLimits(per_test_timeout_s=1.5, global_timeout_s=10, memory_mb=512, output_bytes=1 << 20)
MARKER = "h4-hostile-marker-7f3a"
ONE_TEST = [{"input": "", "output": "42"}]


def run(code: str, tests: list[dict[str, str]] | None = None) -> CodeResult:
    return grade_stdio(code, tests or ONE_TEST, LIMITS)


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


def _descends_from(pid: int, ancestors: set[int]) -> bool:
    while pid > 1:
        if pid in ancestors:
            return True
        pid = _status_field(pid, "PPid") or 0
    return False


def our_runners() -> list[int]:
    return [pid for pid in processes_with("_code_runner.py") if _descends_from(pid, {os.getpid()})]


def solution_processes() -> list[int]:
    """Processes of any throwaway solution uid, and our runner processes that are not a warm runner.

    Runners are counted only below this process (other jobs on the machine may be grading too);
    escapees that left the tree still carry the solution's uid.
    """
    warm = {r.proc.pid for r in warm_runner._all_runners}
    found = []
    for pid in our_runners():
        if _status_field(pid, "Uid") == 0 and _descends_from(pid, warm):
            continue  # the warm runner itself (and its bwrap), which stays for the next solution
        found.append(pid)
    for entry in os.listdir("/proc"):
        uid = _status_field(int(entry), "Uid") if entry.isdigit() else None
        if uid is not None and sandbox._UID_BASE <= uid < sandbox._UID_BASE + 256:
            found.append(int(entry))
    return found


def no_solution_processes_left() -> list[int]:
    """solution_processes() once the killed ones had a moment to exit (SIGKILL is asynchronous)."""
    deadline = time.monotonic() + 3
    while (found := solution_processes()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def runs_unprivileged(mode: str) -> bool:
    """Whether the solution is cut off from the harness user's files (bwrap, or a root harness's uid drop)."""
    return mode == "bwrap" or (os.geteuid() == 0 and sandbox._interpreter_reachable_by_others())


@pytest.fixture(params=["bwrap", "subprocess"])
def mode(request, monkeypatch):
    """Every hostile program runs under bubblewrap (when installed) and under the plain fallback."""
    if request.param == "bwrap" and not sandbox._bwrap_works():
        pytest.skip("bubblewrap is not usable on this machine (apt-get install -y bubblewrap)")
    monkeypatch.setenv("HARNESS_SANDBOX", request.param)
    sandbox_mode.cache_clear()
    yield request.param
    sandbox_mode.cache_clear()


def test_fork_bomb_times_out_and_leaves_nothing(mode):
    code = "import os\n"
    code += f"# {MARKER}\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    assert run(code).verdict == Verdict.TIMEOUT
    time.sleep(0.2)
    assert no_solution_processes_left() == []


def test_memory_balloon_is_memory_limit(mode):
    code = "blocks = []\nwhile True:\n    blocks.append(bytearray(10**7))\n"
    assert run(code).verdict == Verdict.MEMORY_LIMIT


def test_infinite_loop_is_timeout_within_the_test_limit(mode):
    start = time.monotonic()
    assert run("while True:\n    pass\n").verdict == Verdict.TIMEOUT
    assert time.monotonic() - start < 5


def test_endless_output_is_capped(mode):
    result = run("while True:\n    print('x' * 1000)\n")
    assert result.verdict == Verdict.RUNTIME_ERROR
    assert "output exceeded" in (result.detail or "")


def test_sleeping_past_the_timeout(mode):
    start = time.monotonic()
    assert run("import time\ntime.sleep(30)\nprint(42)\n").verdict == Verdict.TIMEOUT
    assert time.monotonic() - start < 5


def test_background_child_does_not_outlive_the_solution(mode):
    # The child leaves the process group and session, the classic way to dodge a group kill.
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


def test_killing_the_parent_is_not_passed(mode):
    result = run("import os\nprint(42, flush=True)\nos.kill(os.getppid(), 9)\n")
    assert result.verdict == Verdict.RUNTIME_ERROR
    assert result.infra_attempts == 0
    assert run("print(42)").verdict == Verdict.PASSED  # the harness is unharmed


def test_environment_secret_is_not_visible(mode, monkeypatch):
    monkeypatch.setenv("H4_SECRET_TOKEN", "hunter2")
    result = run(
        "import os\nprint(os.environ.get('H4_SECRET_TOKEN', 'absent'))\n",
        [{"input": "", "output": "hunter2"}],
    )
    assert result.verdict == Verdict.WRONG_ANSWER


def test_reading_a_file_outside_the_temp_dir_fails(mode, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("classified")
    result = run(f"print(open({str(secret)!r}).read())\n", [{"input": "", "output": "classified"}])
    if not runs_unprivileged(mode):
        pytest.skip("the plain fallback without a uid drop cannot hide the harness user's files")
    assert result.verdict == Verdict.RUNTIME_ERROR


def test_writing_outside_the_temp_dir_does_not_land(mode, tmp_path):
    target = tmp_path / "pwned.txt"
    run(f"open({str(target)!r}, 'w').write('x')\nprint(42)\n")
    if not runs_unprivileged(mode):
        pytest.skip("the plain fallback without a uid drop cannot protect the harness user's files")
    assert not target.exists()


def test_network_is_unreachable_under_bwrap(mode):
    if mode != "bwrap":
        pytest.skip("only bubblewrap unshares the network")
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    accepted: list[object] = []
    threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True).start()
    code = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1)\nprint(42)\n"
    result = run(code)
    server.close()
    assert result.verdict == Verdict.RUNTIME_ERROR
    assert accepted == []


def test_exit_before_any_test_is_not_passed(mode):
    functional = [{"input": "1", "output": "1", "testtype": "functional"}]
    assert (
        grade_functional("import sys\nsys.exit(0)\n", "f", functional, LIMITS).verdict
        == Verdict.RUNTIME_ERROR
    )
    hard_exit = "import os\nos._exit(0)\nclass Solution:\n    def f(self, x):\n        return x\n"
    assert grade_functional(hard_exit, "f", functional, LIMITS).verdict == Verdict.RUNTIME_ERROR
    assert run("import sys\nsys.exit(0)\n").verdict == Verdict.WRONG_ANSWER


def test_printing_the_answer_then_crashing_is_not_passed(mode):
    assert run("print(42)\nraise ValueError('boom')\n").verdict == Verdict.RUNTIME_ERROR


def test_forged_results_are_not_believed(mode):
    # Writes a well-formed "ok" frame to every descriptor it can reach, then prints nothing.
    code = (
        "import json, os, struct\n"
        "frame = json.dumps({'status': 'ok', 'output': '42', 'event': 'compiled', 'ok': True}).encode()\n"
        "data = struct.pack('>I', len(frame)) + frame\n"
        "for fd in range(3, 64):\n"
        "    try:\n        os.write(fd, data)\n    except OSError:\n        pass\n"
        "try:\n    names = os.listdir(f'/proc/{os.getppid()}/fd')\nexcept OSError:\n    names = []\n"
        "for fd in names:\n"
        "    try:\n        os.write(os.open(f'/proc/{os.getppid()}/fd/{fd}', os.O_WRONLY), data)\n"
        "    except OSError:\n        pass\n"
        'print(\'{"status": "ok", "output": "42"}\')\n'
    )
    verdict = run(code).verdict
    if not runs_unprivileged(mode):
        pytest.skip("a runner left as root can reopen its own pipes via /proc (install bubblewrap)")
    assert verdict == Verdict.WRONG_ANSWER


def test_no_strays_after_the_suite_and_harness_still_works():
    time.sleep(0.3)
    assert processes_with(MARKER) == []
    assert no_solution_processes_left() == []
    roots = [r.root for r in warm_runner._all_runners]
    warm_runner.close_all()
    deadline = time.monotonic() + 3  # bwrap's inner process dies with the outer one, asynchronously
    while our_runners() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert our_runners() == []
    assert not any(root.exists() for root in roots)
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


@pytest.fixture
def warm(mode):
    """A warm runner for this thread, in each mode where solutions get their own uid."""
    if not warm_runner.warm_enabled(mode):
        pytest.skip("no throwaway uid here (non-root, or the interpreter is unreadable by others)")
    assert run("print(42)").verdict == Verdict.PASSED
    return warm_runner._local.runner


def warm_python_pid(runner: warm_runner.WarmRunner) -> int:
    for pid in processes_with("--warm"):  # not its bwrap, nor its solution children (same cmdline)
        argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
        if argv0 != b"bwrap" and _status_field(pid, "Uid") == 0 and _descends_from(pid, {runner.proc.pid}):
            return pid
    raise AssertionError("no warm runner process found")


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


def test_warm_runner_state_does_not_reach_the_next_solution(warm):
    pid = warm_python_pid(warm)
    assert run(PROBE).verdict == Verdict.PASSED
    assert run(POLLUTER).verdict == Verdict.PASSED
    result = run(PROBE)
    assert result.verdict == Verdict.PASSED, result.detail
    assert warm_runner._local.runner is warm and warm_python_pid(warm) == pid  # the same warm process


def test_solution_cannot_take_the_warm_runner_down(warm):
    pid = warm_python_pid(warm)
    code = (
        "import os, signal\n"
        "for target in [-1, 1, os.getppid()] + [int(p) for p in os.listdir('/proc') if p.isdigit()]:\n"
        "    try:\n        os.kill(target, signal.SIGKILL)\n    except OSError:\n        pass\n"
        "print(42)\n"
    )
    assert run(code).verdict == Verdict.RUNTIME_ERROR  # it killed its own parent, never the runner
    assert warm_python_pid(warm) == pid
    assert run("print(42)").verdict == Verdict.PASSED


def test_dead_warm_runner_is_replaced(warm):
    os.kill(warm_python_pid(warm), 9)
    result = run("print(42)")
    assert result.verdict == Verdict.PASSED and result.infra_attempts == 0
    assert warm_runner._local.runner is not warm
    # Killed while a solution runs: that solution is not passed, the next one is graded normally.
    replacement = warm_runner._local.runner
    killer = threading.Timer(0.5, lambda: os.kill(warm_python_pid(replacement), 9))
    killer.start()
    assert run("import time\ntime.sleep(1)\nprint(42)\n").verdict != Verdict.PASSED
    killer.join()
    assert run("print(42)").verdict == Verdict.PASSED
    assert no_solution_processes_left() == []
