"""The program that runs inside the sandbox child: it never runs in the harness process.

Started as `python -I _code_runner.py CTL_FD RES_FD`. It reads length-prefixed JSON frames from CTL_FD
(first the job, then one frame per test) and answers on RES_FD. Generated code never runs in this
process: each test runs in a fresh fork that first closes both pipes, so a solution cannot write to the
result channel, and `prctl(PR_SET_DUMPABLE, 0)` keeps it from reopening them via /proc/<ppid>/fd.
Expected outputs never enter the sandbox; the harness compares outputs itself.

This file imports only the standard library and nothing from `harness`, because it runs under a bare
`python -I` inside a read-only bind of the interpreter.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import gc
import json
import os
import resource
import select
import signal
import struct
import sys
import threading  # imported once here rather than in every per-test fork
import time
import traceback
from typing import Any

# LiveCodeBench prepends these imports to every solution, so solutions may rely on them unimported.
PRELUDE_MODULES = (
    "string", "re", "datetime", "collections", "heapq", "bisect", "copy", "math", "random",
    "statistics", "itertools", "functools", "operator", "io", "sys", "json",
)  # fmt: skip
PRELUDE = (
    "".join(f"from {m} import *\n" for m in PRELUDE_MODULES)
    + "from builtins import *\nfrom typing import *\n"
    + "".join(f"import {m}\n" for m in PRELUDE_MODULES)
    + "sys.setrecursionlimit(50000)\n"
)

EXIT_MEMORY = 3  # a grandchild that hit MemoryError exits with this code
EXIT_LOAD = 4  # the solution module raised or exited while loading (functional/asserts modes)
_HEADER = struct.Struct(">I")


def read_frame(fd: int) -> dict[str, Any] | None:
    head = _read_exact(fd, _HEADER.size)
    if head is None:
        return None
    body = _read_exact(fd, _HEADER.unpack(head)[0])
    return None if body is None else json.loads(body)


def _read_exact(fd: int, n: int) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def write_frame(fd: int, obj: dict[str, Any]) -> None:
    body = json.dumps(obj).encode()
    data = _HEADER.pack(len(body)) + body
    while data:
        data = data[os.write(fd, data) :]


def _harden(job: dict[str, Any]) -> None:
    """Drop root and cap processes before any solution code can run."""
    # PR_SET_DUMPABLE=4: other processes of this uid may not open our /proc/<pid>/fd.
    # PR_SET_NO_NEW_PRIVS=38: a setuid binary run by the solution cannot leave its uid (and our kill).
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None)
        libc.prctl(4, 0, 0, 0, 0)
        libc.prctl(38, 1, 0, 0, 0)
    uid = job.get("uid")
    if uid is not None and os.geteuid() == 0:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # a uid change may reset it from fs.suid_dumpable
    nproc = job.get("max_processes")
    # RLIMIT_NPROC counts per user and does not bind root, so it only helps after the uid drop above.
    if nproc and os.geteuid() != 0:
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))


def _child_limits(job: dict[str, Any]) -> None:
    cpu = int(job["timeout_s"]) + 2
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    if job.get("memory_bytes"):
        resource.setrlimit(resource.RLIMIT_AS, (job["memory_bytes"], job["memory_bytes"]))
    resource.setrlimit(resource.RLIMIT_FSIZE, (job["output_bytes"], job["output_bytes"]))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _redirect(path: str, fd: int, flags: int) -> None:
    new = os.open(path, flags, 0o600)
    os.dup2(new, fd)
    os.close(new)


def _run_solution(job: dict[str, Any], code: Any, base: dict[str, Any], test: dict[str, Any]) -> int:
    """Body of the per-test grandchild. Returns its exit status."""
    # This fork's own copy already; copying it again would touch (and so copy-on-write) every prelude
    # object's page, about 0.6 ms per test here.
    glb = base
    glb["__name__"] = "__main__"
    mode = job["mode"]
    try:
        try:
            exec(code, glb)
        except SystemExit as stop:
            if mode == "stdio":  # a contest program may end with sys.exit(0) after printing
                return 0 if stop.code in (None, 0) else 1
            print(f"solution exited while loading (SystemExit {stop.code!r})", file=sys.stderr)
            return EXIT_LOAD
        if mode == "functional":
            value = _call_function(glb, job["func_name"], test["input"])
            _write_value(json.dumps(value))
        elif mode == "asserts":
            token = test["token"]
            exec(compile(test["input"], "<tests>", "exec"), glb)
            _write_value(token)
        return 0
    except MemoryError:
        print("MemoryError", file=sys.stderr)
        return EXIT_MEMORY
    except BaseException as exc:  # the solution's own exceptions, SystemExit in a call, etc.
        lines = traceback.format_exception_only(type(exc), exc)
        print(lines[-1].strip()[:500] if lines else type(exc).__name__, file=sys.stderr)
        return 1


def _call_function(glb: dict[str, Any], func_name: str, raw_input: str) -> Any:
    args = [json.loads(line) for line in raw_input.split("\n") if line.strip()]
    if "Solution" in glb and isinstance(glb["Solution"], type):
        func = getattr(glb["Solution"](), func_name)
    else:
        func = glb[func_name]
    return _plain(func(*args))


def _plain(value: Any) -> Any:
    """Tuples become lists (LCB compares them equal); anything JSON cannot carry becomes its repr."""
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def _write_value(text: str) -> None:
    fd = os.open("value", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, text.encode())
    os.close(fd)


def _grandchild(
    job: dict[str, Any], code: Any, base: dict[str, Any], test: dict[str, Any], fds: tuple
) -> None:
    status = 1
    try:
        os.setpgid(0, 0)
        for fd in fds:
            os.close(fd)
        _redirect("input", 0, os.O_RDONLY)
        _redirect("stdout", 1, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        _redirect("stderr", 2, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        _child_limits(job)
        for sig in (signal.SIGPIPE, signal.SIGXFSZ):  # Python ignores both; a judge must not
            signal.signal(sig, signal.SIG_DFL)
        status = _run_solution(job, code, base, test)
        if job.get("threads") == "join":
            _finish_like_an_interpreter()
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        status = 1
    os._exit(status)


def _finish_like_an_interpreter() -> None:
    """Wait for non-daemon threads and run atexit hooks, as a normal interpreter exit would.

    Contest solutions often run `main` in a thread with a big stack; without this join, os._exit cuts
    them off before they print, which is what LCB's in-process grader does (setting threads=exit_with_main).
    """
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()


def _read_capped(path: str, limit: int) -> str:
    try:
        with open(path, "rb") as f:
            return f.read(limit).decode("utf-8", errors="replace")
    except OSError:
        return ""


def _classify(status: int, killed: bool, job: dict[str, Any], test: dict[str, Any]) -> tuple[str, str]:
    err = _read_capped("stderr", 2000).strip()
    if killed:
        return "timeout", f"no result after {job['timeout_s']} s"
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU:
            return "timeout", "CPU time limit"
        if sig == signal.SIGXFSZ:
            return "output_limit", f"output exceeded {job['output_bytes']} bytes"
        if "memory" in err.lower():
            return "memory_limit", err[-300:]
        return "runtime_error", f"killed by signal {signal.Signals(sig).name}. {err[-300:]}".strip()
    code = os.WEXITSTATUS(status)
    if code == EXIT_MEMORY:
        return "memory_limit", err[-300:] or "MemoryError"
    if code != 0:
        return "runtime_error", err[-300:] or f"exit status {code}"
    if job["mode"] == "stdio":
        return "ok", ""
    value = _read_capped("value", job["output_bytes"])
    if not value or (job["mode"] == "asserts" and value != test["token"]):
        return "runtime_error", "the solution exited before the tests finished"
    return "ok", ""


def run_test(job: dict[str, Any], code: Any, base: dict[str, Any], test: dict[str, Any], fds: tuple) -> dict:
    for name in ("stdout", "stderr", "value"):
        if os.path.exists(name):
            os.unlink(name)
    with open("input", "wb") as f:
        f.write(test["input"].encode() if job["mode"] == "stdio" else b"")
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        _grandchild(job, code, base, test, fds)
    pidfd = os.pidfd_open(pid)
    ready, _, _ = select.select([pidfd], [], [], job["timeout_s"])
    killed = not ready
    _kill_group(pid)  # also ends background children the test left behind
    _, status = os.waitpid(pid, 0)
    os.close(pidfd)
    seconds = time.monotonic() - start
    outcome, detail = _classify(status, killed, job, test)
    result: dict[str, Any] = {"status": outcome, "detail": detail, "seconds": round(seconds, 4)}
    if outcome == "ok":
        name = "stdout" if job["mode"] == "stdio" else "value"
        result["output"] = _read_capped(name, job["output_bytes"])
    return result


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _prelude_globals() -> dict[str, Any]:
    base: dict[str, Any] = {"__builtins__": __builtins__}
    exec(compile(PRELUDE, "<prelude>", "exec"), base)  # before the uid drop: stdlib may be root-only
    return base


def solve(ctl: int, res: int, base: dict[str, Any]) -> int:
    """Grade one solution: read its job, drop privileges, compile it, run each test in a fresh fork."""
    job = read_frame(ctl)
    if job is None:
        return 2
    sys.path.extend(job.get("site_packages") or [])  # started with -S; see sandbox.RunnerProcess
    if job.get("workdir"):  # warm mode: this solution's own fresh directory, made by the harness
        os.chdir(job["workdir"])
        os.environ["HOME"] = job["workdir"]
    _harden(job)
    try:
        code = compile(job["code"], "<solution>", "exec")
    except (SyntaxError, ValueError) as exc:
        write_frame(res, {"event": "compiled", "ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]})
        return 0
    write_frame(res, {"event": "compiled", "ok": True})
    while (test := read_frame(ctl)) is not None and not test.get("stop"):
        write_frame(res, run_test(job, code, base, test, (ctl, res)))
    if job.get("uid") is not None and os.getuid() == job["uid"] != 0:
        # kill(-1) from the solution's own uid ends everything it left (escapees included) in one
        # atomic pass, cheaper than the harness starting `kill` as that uid.
        with contextlib.suppress(ProcessLookupError):
            os.kill(-1, signal.SIGKILL)
        write_frame(res, {"event": "cleaned"})
    return 0


def serve(sock_fd: int) -> int:
    """Warm mode: import the prelude once, then fork one `solve` child per request from the harness.

    Each request is one byte carrying two descriptors (the solution's control and result pipes) over
    the unix socket. Solution code never runs in this process: only in forks of the child, which
    drops to the solution's uid first, so nothing a solution changes reaches the next one.
    """
    import socket

    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None)
        libc.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE=0, as in _harden
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: end with the harness thread
    base = _prelude_globals()
    gc.freeze()  # collections in the forks then leave the prelude's objects (and their pages) alone
    # Solution children are reaped by the kernel: a zombie would still count against its uid's quota.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    channel = socket.socket(fileno=sock_fd)
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(channel, 1, 2)
        except OSError:
            return 1
        if not message:
            return 0  # the harness closed its end
        if len(fds) == 2:
            _fork_solver(channel, fds[0], fds[1], base)
        for fd in fds:
            os.close(fd)
        channel.sendall(b"F")  # lets the harness tell a live runner from a dying one at once


def _fork_solver(channel: Any, ctl: int, res: int, base: dict[str, Any]) -> None:
    if os.fork() != 0:
        return
    status = 1
    try:
        channel.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # this child waits for its per-test forks
        status = solve(ctl, res, base)
    except BaseException:
        traceback.print_exc()
    os._exit(status)


def main(argv: list[str]) -> int:
    if argv[1] == "--warm":
        return serve(int(argv[2]))
    return solve(int(argv[1]), int(argv[2]), _prelude_globals())


if __name__ == "__main__":
    sys.exit(main(sys.argv))
