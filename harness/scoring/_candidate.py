"""The candidate process: the only place where a solution's code runs.

A fresh fork of the solution's supervisor per test. Before any solution code runs it has its own
session and IPC namespace, no privileges (its own throwaway uid where the harness is root), limits,
a seccomp deny list, and only the descriptors below; everything else is closed, so it cannot reach the
supervisor's or the judge's channels. It computes and hands back plain data; it never sees expected
outputs, test code or a verdict.

    0 stdin   1 stdout   2 stderr   (memfds the supervisor reads back)
    3 value memfd (functional) | calls from the judge (asserts)
    4 replies to the judge (asserts)
    5 audit memfd: names of suspicious runtime events, best-effort evidence for the tampering flags

Standard library only: runs under `python -I -S` inside the sandbox.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import struct
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any

import _confine
import _literal_codec as codec

EXIT_MEMORY = 3  # MemoryError
EXIT_LOAD = 4  # the module raised or exited while loading (functional/asserts)
EXIT_NOT_DATA = 5  # the return value cannot be sent as data
EXIT_SYSTEM_EXIT = 6  # SystemExit during a call (functional)
VALUE_FD, CALLS_FD, REPLIES_FD, AUDIT_FD = 3, 3, 4, 5
_FRAME = struct.Struct("<I")


def become_candidate(job: dict[str, Any], fds: dict[int, int], uid: int | None, privileged: bool) -> None:
    """Confine this fresh fork; `fds` maps the descriptor numbers above to what they should be."""
    os.setsid()
    if privileged:
        _confine.unshare(_confine.CLONE_NEWIPC)
    _confine.arrange_fds(fds)
    if uid is not None:
        _confine.drop_to(uid)
    _confine.clear_capabilities()
    _confine.prctl(_confine.PR_SET_DUMPABLE, 0)  # after the uid change, which may reset it
    limits = job["limits"]
    _confine.set_limits(limits["cpu_s"], limits["memory_bytes"], limits["output_bytes"], limits["processes"])
    _confine.prctl(_confine.PR_SET_NO_NEW_PRIVS, 1)  # also where seccomp is unavailable
    _confine.install_seccomp()
    for sig in (signal.SIGPIPE, signal.SIGXFSZ):  # Python ignores both; a judge must not
        signal.signal(sig, signal.SIG_DFL)


def run(job: dict[str, Any], code: Any, glb: dict[str, Any], test: dict[str, Any]) -> int:
    """The body of the candidate process; returns its exit status (the caller ends with os._exit)."""
    status = _run(job, code, glb, test)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # a program may close or replace its streams
            status = status or 1 if stream is sys.stdout else status
    return status


def _run(job: dict[str, Any], code: Any, glb: dict[str, Any], test: dict[str, Any]) -> int:
    glb["__name__"] = "__main__"
    _AuditTrail.install(job)
    mode = job["mode"]
    try:
        if mode == "asserts":
            return _serve_calls(code, glb)
        try:
            exec(code, glb)
        except SystemExit as stop:
            if mode == "stdio":  # a contest program may end with sys.exit(0) after printing
                return 0 if stop.code in (None, 0) else 1
            print(f"the solution exited while loading (SystemExit {stop.code!r})", file=sys.stderr)
            _AuditTrail.note("exit_trick")
            return EXIT_LOAD
        if mode == "functional":
            return _call_once(glb, job["func_name"], test["input"], job)
        if job.get("threads") == "join":
            _finish_like_an_interpreter()
        return 0
    except MemoryError:
        print("MemoryError", file=sys.stderr)
        return EXIT_MEMORY
    except BaseException as exc:  # the solution's own exceptions
        print(_describe(exc), file=sys.stderr)
        return 1


def _describe(exc: BaseException) -> str:
    try:
        lines = traceback.format_exception_only(type(exc), exc)
        return lines[-1].strip()[:500] if lines else type(exc).__name__
    except BaseException:  # a hostile __str__
        return type(exc).__name__


def _message(exc: BaseException) -> str:
    try:
        return str(exc)[:500]
    except BaseException:  # a hostile __str__
        return ""


def _call_once(glb: dict[str, Any], func_name: str, raw_input: str, job: dict[str, Any]) -> int:
    args = [json.loads(line) for line in raw_input.split("\n") if line.strip()]
    solution = glb.get("Solution")
    func = getattr(solution(), func_name) if isinstance(solution, type) else glb[func_name]
    try:
        value = func(*args)
    except SystemExit as stop:
        print(f"the solution exited during the call (SystemExit {stop.code!r})", file=sys.stderr)
        _AuditTrail.note("exit_trick")
        return EXIT_SYSTEM_EXIT
    try:
        data = codec.encode(value, codec.Limits(max_bytes=job["limits"]["output_bytes"]))
    except codec.EncodeError as exc:
        print(f"the return value is not data: {exc}", file=sys.stderr)
        return EXIT_NOT_DATA
    _write_all(VALUE_FD, data)
    return 0


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _finish_like_an_interpreter() -> None:
    """Wait for non-daemon threads and run atexit hooks, as a normal interpreter exit would.

    Contest solutions often run `main` in a thread with a big stack; without this join, os._exit cuts
    them off before they print (what LCB's in-process grader does with threads=exit_with_main).
    """
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()


# ------------------------------------------------------------------------------ asserts: calls from the judge


def _serve_calls(code: Any, glb: dict[str, Any]) -> int:
    """Load the solution, then answer the judge's calls on the candidate's objects with plain data."""
    try:
        exec(code, glb)
    except SystemExit as stop:
        _AuditTrail.note("exit_trick")
        _reply(("load_error", f"the solution exited while loading (SystemExit {stop.code!r})"))
        return EXIT_LOAD
    except BaseException as exc:
        _reply(("load_error", _describe(exc)))
        return EXIT_LOAD
    objects: list[Any] = []
    _reply(("ready",))
    while (request := _read_request(objects)) is not None:
        _reply(_answer(request, glb, objects), objects)
    return 0


def _read_request(objects: list[Any]) -> tuple[Any, ...] | None:
    head = _read_exact(CALLS_FD, 4)
    if head is None:
        return None
    body = _read_exact(CALLS_FD, _FRAME.unpack(head)[0])
    if body is None:
        return None
    request: tuple[Any, ...] = codec.decode(body, on_ref=objects.__getitem__)
    return request


def _read_exact(fd: int, n: int) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, n - got)
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _answer(request: tuple[Any, ...], glb: dict[str, Any], objects: list[Any]) -> tuple[Any, ...]:
    op, target, args, kwargs = request
    try:
        if target[0] == "name" and target[1] not in glb:
            raise NameError(f"name {target[1]!r} is not defined")
        subject = glb[target[1]] if target[0] == "name" else objects[target[1]]
        if op == "call":
            value = subject(*args, **kwargs)
            mutable = (list, dict, set, bytearray)
            writeback = tuple((i, a) for i, a in enumerate(args) if type(a) in mutable)
            return ("ok", value, writeback)
        return ("ok", _OPERATIONS[op](subject, *args), ())
    except SystemExit as stop:
        _AuditTrail.note("exit_trick")
        return ("exit", f"SystemExit {stop.code!r}")
    except MemoryError:
        raise
    except BaseException as exc:
        return ("raised", type(exc).__name__, _message(exc))


_OPERATIONS: dict[str, Callable[..., Any]] = {
    "getattr": getattr,
    "setattr": setattr,
    "getitem": lambda obj, key: obj[key],
    "setitem": lambda obj, key, value: obj.__setitem__(key, value),
    "len": len,
    "iter": lambda obj: list(iter(obj)),
    "bool": bool,
    "str": str,
    "repr": repr,
}


def _reply(message: tuple[Any, ...], objects: list[Any] | None = None) -> None:
    def register(obj: Any) -> int:
        if objects is None:
            raise codec.EncodeError("no objects before the solution loaded")
        objects.append(obj)
        return len(objects) - 1

    try:
        body = codec.encode(message, on_object=register)
    except codec.EncodeError as exc:
        body = codec.encode(("not_data", str(exc)))
    _write_all(REPLIES_FD, _FRAME.pack(len(body)) + body)


# ------------------------------------------------------------------------------------------ audit trail


class _AuditTrail:
    """Best-effort runtime evidence: audit events raised by the solution's own code, written to fd 5.

    The solution runs in this process, so it can silence this (close the descriptor, patch memory
    with ctypes); it cannot make the harness believe it did something it did not. The static scan on
    the harness side is the evidence a solution cannot touch.
    """

    _noted: set[str] = set()  # noqa: RUF012 (one per process, on purpose)
    _busy = False
    _getframe = staticmethod(sys._getframe)
    _workdir = ""

    @classmethod
    def install(cls, job: dict[str, Any]) -> None:
        cls._workdir = os.getcwd()
        sys.addaudithook(cls._hook)

    @classmethod
    def note(cls, flag: str) -> None:
        if flag in cls._noted:
            return
        cls._noted.add(flag)
        with contextlib.suppress(OSError):
            os.write(AUDIT_FD, b"\n" + flag.encode() + b"\n")  # stays a line after junk

    @classmethod
    def _hook(cls, event: str, args: tuple[Any, ...]) -> None:
        if cls._busy:
            return
        cls._busy = True
        try:
            flag = _flag_for(event, args, cls._getframe, cls._workdir)
            if flag:
                cls.note(flag)
        except BaseException:  # an audit hook that raises would abort the audited operation
            pass
        finally:
            cls._busy = False


# Attribute reads that raise "object.__getattr__" and hand out a frame (f_back and friends raise none).
_FRAME_ATTRIBUTES = frozenset({"tb_frame", "gi_frame", "cr_frame", "ag_frame"})
_PATH_EVENTS = ("os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.truncate", "shutil.rmtree")
_ALLOWED_WRITES = ("/dev/null", "/dev/stdout", "/dev/stderr", "/proc/self/fd/1", "/proc/self/fd/2")


def _from_solution(getframe: Any) -> bool:
    frame = getframe(3)  # _flag_for <- _hook <- the audited call's caller
    for _ in range(3):
        if frame is None:
            return False
        if frame.f_code.co_filename == "<solution>":
            return True
        if not frame.f_code.co_filename.endswith(("inspect.py", "traceback.py")):
            return False
        frame = frame.f_back
    return False


def _flag_for(event: str, args: tuple[Any, ...], getframe: Any, workdir: str) -> str | None:
    if event in ("sys._getframe", "sys._current_frames", "gc.get_objects", "gc.get_referrers"):
        return "frames" if _from_solution(getframe) else None
    if event == "object.__getattr__" and len(args) > 1 and args[1] in _FRAME_ATTRIBUTES:
        return "frames" if _from_solution(getframe) else None
    if event == "sys.addaudithook":
        return "audit_tampering"
    if event in ("ctypes.dlsym", "ctypes.dlopen", "ctypes.cdata"):
        return "native_code" if _from_solution(getframe) else None
    if event in ("os.kill", "os.killpg") and len(args) > 0:
        return "exit_trick" if args[0] == os.getpid() else "kills"
    if event in ("socket.connect", "socket.bind"):
        return "network"
    if event == "os.listdir" and args and str(args[0]).startswith("/proc"):
        return "sandbox_probe"
    if event == "open" and args and isinstance(args[0], (str, bytes)):
        path = os.fsdecode(args[0])
        if path.startswith("/proc/") and "/fd/" in path and path not in _ALLOWED_WRITES:
            return "forged_output"
        if path in ("/proc/1/cmdline", "/proc/self/mountinfo", "/proc/1/environ"):
            return "sandbox_probe"
        writing = (len(args) > 1 and any(c in str(args[1]) for c in "wax+")) or (
            len(args) > 2 and isinstance(args[2], int) and args[2] & (os.O_WRONLY | os.O_RDWR)
        )
        if writing and not _inside(path, workdir) and path not in _ALLOWED_WRITES:
            return "writes_outside"
    if (
        event in _PATH_EVENTS
        and args
        and isinstance(args[0], (str, bytes))
        and not _inside(os.fsdecode(args[0]), workdir)
    ):
        return "writes_outside"
    return None


def _inside(path: str, workdir: str) -> bool:
    full = os.path.normpath(os.path.join(workdir, path))
    return full == workdir or full.startswith(workdir.rstrip("/") + "/")
