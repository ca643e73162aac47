"""The code runner: started once per grading thread inside the sandbox, it never runs solution code.

    python -I -S _code_runner.py --serve SOCKET_FD MODE

It imports the LiveCodeBench prelude once, then forks one supervisor per solution on request (two
pipes passed over the unix socket). A supervisor compiles the solution and, for each test, forks a
fresh candidate process (the only place solution code runs, see _candidate.py) and, for assert-style
tests, a judge process (see _judge.py). It watches their CPU time against the limit, kills every
process the test left before the next test starts, and sends the harness one frame per test.

Frames in both directions: a ">II" header (JSON meta length, binary blob length), the JSON meta, the
blob (a program's stdout, or a return value in the literal codec). Standard library only.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import signal
import socket
import struct
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves the script's folder out

import _candidate
import _confine
import _judge
from _prelude import PRELUDE
from _supervise import Control, Workspace, run_test

_HEADER = struct.Struct(">II")
MAX_CODE_CHARS = 1 << 20


def read_frame(fd: int) -> tuple[dict[str, Any], bytes] | None:
    head = _read_exact(fd, _HEADER.size)
    if head is None:
        return None
    meta_size, blob_size = _HEADER.unpack(head)
    body = _read_exact(fd, meta_size + blob_size)
    if body is None:
        return None
    return json.loads(body[:meta_size]), body[meta_size:]


def _read_exact(fd: int, n: int) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def write_frame(fd: int, meta: dict[str, Any], blob: bytes = b"") -> None:
    body = json.dumps(meta).encode()
    data = memoryview(_HEADER.pack(len(body), len(blob)) + body + blob)
    while data:
        data = data[os.write(fd, data) :]


def probe_capabilities(mode: str, interpreter_paths: list[str]) -> dict[str, bool]:
    """What this runner can give each solution; the harness records it and relies on nothing else.

    As root it gets a private mount namespace of its own (outside bwrap also a private network
    namespace, and closed folders on the way to the interpreter made passable), so that supervisors
    can mount a size-limited tmpfs per solution and give each test its own IPC namespace.
    """
    privileged = os.geteuid() == 0
    namespaces = False
    if privileged:
        try:
            _confine.private_mounts()
            if mode == "subprocess":
                _confine.unshare(_confine.CLONE_NEWNET)
                for path in interpreter_paths:
                    _confine.uncover(path)
            namespaces = True
        except OSError as exc:
            print(f"code runner: no namespaces ({exc}); solutions share the runner's", file=sys.stderr)
    return {"uid_drop": privileged, "namespaces": namespaces, "seccomp": _seccomp_works()}


def _seccomp_works() -> bool:
    _confine._seccomp_program()  # built here once, so every fork inherits it ready-made
    pid = os.fork()
    if pid == 0:
        try:
            os._exit(0 if _confine.install_seccomp() else 1)
        except BaseException:
            os._exit(1)
    return os.waitpid(pid, 0)[1] == 0


def _prelude_globals() -> dict[str, Any]:
    base: dict[str, Any] = {"__builtins__": __builtins__}
    exec(compile(PRELUDE, "<prelude>", "exec"), base)  # before any uid drop: stdlib may be root-only
    return base


def serve(sock_fd: int, mode: str, interpreter_paths: list[str]) -> int:
    """Answer each request (one byte and two descriptors on the socket) with a forked supervisor."""
    with contextlib.suppress(OSError):
        _confine.prctl(_confine.PR_SET_DUMPABLE, 0)
        _confine.prctl(_confine.PR_SET_PDEATHSIG, signal.SIGKILL)  # end with the harness thread
    capabilities = probe_capabilities(mode, interpreter_paths)
    base = _prelude_globals()
    gc.freeze()  # collections in the forks then leave the prelude's objects (and their pages) alone
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # supervisors are reaped by the kernel
    channel = socket.socket(fileno=sock_fd)
    channel.sendall(json.dumps(capabilities).encode() + b"\n")
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(channel, 1, 2)
        except OSError:
            return 1
        if not message:
            return 0  # the harness closed its end
        if len(fds) == 2:
            _fork_supervisor(channel, fds[0], fds[1], base, capabilities)
        for fd in fds:
            os.close(fd)
        channel.sendall(b"F")  # lets the harness tell a live runner from a dying one at once


def _fork_supervisor(channel: Any, ctl: int, res: int, base: dict[str, Any], caps: dict[str, bool]) -> None:
    if os.fork() != 0:
        return
    status = 1
    try:
        channel.close()
        _confine.prctl(_confine.PR_SET_PDEATHSIG, signal.SIGKILL)  # as under bwrap: ends with the runner
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # this one waits for its candidates
        status = supervise(ctl, res, base, caps)
    except BaseException as exc:
        with contextlib.suppress(BaseException):
            print(f"code runner supervisor: {type(exc).__name__}: {exc}", file=sys.stderr)
    os._exit(status)


def supervise(ctl: int, res: int, base: dict[str, Any], caps: dict[str, bool]) -> int:
    """Grade one solution: set up its workspace, compile it, run each test, leave nothing behind."""
    received = read_frame(ctl)
    if received is None:
        return 2
    job = received[0]
    _confine.prctl(_confine.PR_SET_CHILD_SUBREAPER, 1)  # orphans of its tests come back here
    sys.path.extend(job.get("site_packages") or [])  # started with -S; see sandbox._runner_command
    workspace = Workspace(job, caps)
    workspace.enter()
    control = Control(ctl, read_frame)
    try:
        if len(job["code"]) > MAX_CODE_CHARS:
            raise ValueError(f"the solution is longer than {MAX_CODE_CHARS} characters")
        code = compile(job["code"], "<solution>", "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        write_frame(res, {"event": "compiled", "ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]})
        control.drain()  # the tests the harness sent before it knew
        write_frame(res, {"event": "cleaned"})
        return 0
    write_frame(res, {"event": "compiled", "ok": True})
    while (test := control.next_test()) is not None:
        meta, blob = run_test(job, code, base, test, workspace, _candidate, _judge, control)
        if not control.aborted:  # else the harness has its verdict and reads only up to "cleaned"
            write_frame(res, meta, blob)
    write_frame(res, {"event": "cleaned"})
    return 0


def main(argv: list[str]) -> int:
    if len(argv) >= 4 and argv[1] == "--serve":
        return serve(int(argv[2]), argv[3], argv[4:])
    print("usage: _code_runner.py --serve SOCKET_FD MODE [INTERPRETER_PATH ...]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
