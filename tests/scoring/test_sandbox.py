"""Hostile programs against the code sandbox: each gets its expected verdict and nothing may leak."""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

from harness.scoring import sandbox
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
    assert processes_with("_code_runner.py") == []


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
    assert processes_with("_code_runner.py") == []
    assert grade_stdio("print(input())", [{"input": "7\n", "output": "7"}]).verdict == Verdict.PASSED
    assert sys.modules.get("torch") is None
