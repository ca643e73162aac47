"""The judge process of assert-style tests (HumanEval's `check(candidate)`, MBPP's asserts).

It runs the dataset's own test code and alone decides whether it passed; it never runs candidate
code. The names the tests expect the solution to define (`Problem.meta["judge"]["remote_names"]`)
are stand-ins that forward each call, as plain data in the literal codec, to the candidate process,
which calls the real function and answers with plain data. What comes back is built from built-in
types only, so an `__eq__` that always says yes, a patched `builtins.exec`, a walk up the stack for a
pass token or an early `os._exit(0)` in the candidate cannot touch the asserts here. Objects of the
solution's own classes come back as opaque handles: the tests may call them, read and set their
attributes and pass them back, but comparing one (`==`, `in`, hashing) is refused, because the answer
would be the candidate's to give.

It runs as its own throwaway uid (different from the candidate's), non-dumpable, in a fresh session,
with limits and the same seccomp list, since dataset code is not trusted either. It reports one JSON
result on descriptor 5:

    0-2 /dev/null   3 calls to the candidate   4 replies from it   5 the result, to the supervisor

Standard library only: runs under `python -I -S` inside the sandbox.
"""

from __future__ import annotations

import builtins
import json
import os
import struct
import sys
import traceback
from typing import Any

import _confine
import _literal_codec as codec

CALLS_FD, REPLIES_FD, RESULT_FD = 3, 4, 5
_FRAME = struct.Struct("<I")
_MUTABLE = (list, dict, set, bytearray)


class CandidateGone(BaseException):
    """The candidate process ended or broke the call protocol (a BaseException: tests cannot swallow it)."""


class CandidateExited(BaseException):
    """The candidate raised SystemExit inside a call."""


class JudgeLimitation(BaseException):
    """The tests asked for something only the candidate could answer, such as comparing its object."""


class NotData(Exception):
    """The candidate's return value could not be sent as data (too large or too deep)."""


class SolutionError(Exception):
    """An exception the candidate raised whose type is not a built-in one."""


def become_judge(job: dict[str, Any], fds: dict[int, int], uid: int | None, privileged: bool) -> None:
    os.setsid()
    if privileged:
        _confine.unshare(_confine.CLONE_NEWIPC)
    null = os.open("/dev/null", os.O_RDWR)
    _confine.arrange_fds({0: null, 1: null, 2: null, **fds})
    os.chdir("/")
    if uid is not None:
        _confine.drop_to(uid)
    _confine.clear_capabilities()
    _confine.prctl(_confine.PR_SET_DUMPABLE, 0)
    limits = job["limits"]
    _confine.set_limits(limits["cpu_s"], limits["memory_bytes"], 1 << 20, 8)
    _confine.prctl(_confine.PR_SET_NO_NEW_PRIVS, 1)  # also where seccomp is unavailable
    _confine.install_seccomp()


class Channel:
    def __init__(self, max_reply_bytes: int) -> None:
        self.limits = codec.Limits(max_bytes=max_reply_bytes)
        self.problem: tuple[str, str] | None = None  # (status, detail) that overrides the tests' outcome

    def fail(self, status: str, detail: str, exc: type[BaseException]) -> BaseException:
        if self.problem is None:
            self.problem = (status, detail)
        return exc(detail)

    def receive(self) -> tuple[Any, ...]:
        head = _read_exact(REPLIES_FD, 4)
        if head is None:
            raise self.fail("gone", "the solution's process ended", CandidateGone)
        size = _FRAME.unpack(head)[0]
        if size > self.limits.max_bytes:
            raise self.fail("not_data", f"a reply of {size} bytes is over the limit", CandidateGone)
        body = _read_exact(REPLIES_FD, size)
        if body is None:
            raise self.fail("gone", "the solution's process ended mid-reply", CandidateGone)
        try:
            reply = codec.decode(body, self.limits, on_ref=lambda ref: RemoteObject(self, ("ref", ref)))
        except codec.CodecError as exc:
            raise self.fail("protocol", f"unreadable reply from the solution: {exc}", CandidateGone) from None
        if (
            type(reply) is not tuple
            or not reply
            or type(reply[0]) is not str
            or _REPLY_SHAPES.get(reply[0]) != len(reply)
        ):
            raise self.fail("protocol", "the solution's process sent a malformed reply", CandidateGone)
        return reply

    def request(self, op: str, target: tuple[str, Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if self.problem is not None:
            raise CandidateGone(self.problem[1])
        try:
            body = codec.encode((op, target, args, kwargs), on_object=self._reference)
        except codec.EncodeError as exc:
            detail = f"the tests passed something that is not data ({exc})"
            raise self.fail("limitation", detail, JudgeLimitation) from None
        try:
            _write_all(CALLS_FD, _FRAME.pack(len(body)) + body)
        except OSError:
            raise self.fail("gone", "the solution's process ended", CandidateGone) from None
        reply = self.receive()
        return self._outcome(reply, args)

    def _reference(self, obj: Any) -> int:
        if isinstance(obj, RemoteObject) and obj._target[0] == "ref":
            return int(obj._target[1])
        raise codec.EncodeError(f"a {type(obj).__name__} cannot be passed to the solution")

    def _outcome(self, reply: tuple[Any, ...], args: tuple[Any, ...]) -> Any:
        kind = reply[0]
        if kind == "ok" and len(reply) == 3 and type(reply[2]) is tuple:
            _write_back(args, reply[2])
            return reply[1]
        if kind == "raised" and len(reply) == 3 and type(reply[1]) is str and type(reply[2]) is str:
            raise _rebuild(reply[1], reply[2])
        if kind == "exit" and len(reply) == 2 and type(reply[1]) is str:
            raise self.fail("exited", f"the solution exited during a call ({reply[1]})", CandidateExited)
        if kind == "not_data" and len(reply) == 2 and type(reply[1]) is str:
            raise NotData(f"the return value is not data: {reply[1]}")
        raise self.fail("protocol", "the solution's process sent a malformed reply", CandidateGone)


_REPLY_SHAPES = {"ok": 3, "raised": 3, "exit": 2, "not_data": 2, "ready": 1, "load_error": 2}


def _write_back(args: tuple[Any, ...], changes: tuple[Any, ...]) -> None:
    """Apply the candidate's in-place changes to the tests' own list/dict/set/bytearray arguments."""
    for change in changes:
        if type(change) is not tuple or len(change) != 2 or type(change[0]) is not int:
            continue
        index, new = change
        if not 0 <= index < len(args) or type(args[index]) is not type(new) or type(new) not in _MUTABLE:
            continue
        old = args[index]
        if isinstance(old, (list, bytearray)):
            old[:] = new
        else:
            old.clear()
            old.update(new)


def _rebuild(type_name: str, message: str) -> Exception:
    kind = getattr(builtins, type_name, None)
    if isinstance(kind, type) and issubclass(kind, Exception) and not issubclass(kind, (AssertionError,)):
        try:
            exc = kind(message)
        except Exception:
            exc = SolutionError(f"{type_name}: {message}")
    else:
        exc = SolutionError(message)
    exc.raised_by_solution = True  # type: ignore[attr-defined]
    return exc


class RemoteObject:
    """A stand-in for one of the candidate's objects (or a name the solution defines)."""

    __slots__ = ("_channel", "_target")

    def __init__(self, channel: Channel, target: tuple[str, Any]) -> None:
        object.__setattr__(self, "_channel", channel)
        object.__setattr__(self, "_target", target)

    def _ask(self, op: str, *args: Any) -> Any:
        return self._channel.request(op, self._target, args, {})

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._channel.request("call", self._target, args, kwargs)

    def __getattr__(self, name: str) -> Any:
        return self._ask("getattr", name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._ask("setattr", name, value)

    def __getitem__(self, key: Any) -> Any:
        return self._ask("getitem", key)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._ask("setitem", key, value)

    def __len__(self) -> int:
        return _typed(self._ask("len"), int)

    def __iter__(self) -> Any:
        return iter(_typed(self._ask("iter"), list))

    def __bool__(self) -> bool:
        return _typed(self._ask("bool"), bool)

    def __str__(self) -> str:
        return _typed(self._ask("str"), str)

    def __repr__(self) -> str:
        return _typed(self._ask("repr"), str)

    def _refuse(self, *args: Any) -> Any:
        raise self._channel.fail(
            "limitation", "the tests compare an object of the solution's own class", JudgeLimitation
        )

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __contains__ = __hash__ = _refuse


def _typed(value: Any, kind: type) -> Any:
    if type(value) is not kind:
        raise TypeError(f"the solution's object answered with {type(value).__name__}, not {kind.__name__}")
    return value


def _read_exact(fd: int, n: int) -> bytes | None:
    buffer, got = bytearray(n), 0
    view = memoryview(buffer)
    while got < n:
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            return None
        view[got : got + len(chunk)] = chunk
        got += len(chunk)
    return bytes(buffer)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def judge(job: dict[str, Any], test: dict[str, Any], glb: dict[str, Any]) -> dict[str, Any]:
    """Run the test program against the candidate; the result the supervisor reports."""
    channel = Channel(job["limits"]["output_bytes"])
    try:
        first = channel.receive()
    except CandidateGone:
        return _result(channel.problem or ("gone", "the solution's process ended"))
    if first[0] == "load_error":
        return {"status": "load_error", "detail": str(first[1])[:500] if len(first) > 1 else ""}
    if first[0] != "ready":
        return _result(("protocol", "the solution's process did not start the call protocol"))
    spec = job.get("judge") or {}
    glb["__name__"] = "__main__"
    try:
        exec(compile(spec.get("context", ""), "<problem>", "exec"), glb)
    except BaseException as exc:
        return {"status": "judge_error", "detail": f"the problem's own code failed: {_describe(exc)}"}
    for name in spec.get("remote_names", ()):
        glb[name] = RemoteObject(channel, ("name", name))
    try:
        exec(compile(test["input"], "<tests>", "exec"), glb)
    except BaseException as exc:
        if channel.problem is not None:
            return _result(channel.problem)
        return _failure(exc, test["input"])
    if channel.problem is not None:  # e.g. a bare `except:` in the tests swallowed CandidateGone
        return _result(channel.problem)
    return {"status": "passed", "detail": ""}


def _result(problem: tuple[str, str]) -> dict[str, Any]:
    return {"status": problem[0], "detail": problem[1][:500]}


def _failure(exc: BaseException, source: str) -> dict[str, Any]:
    line = _test_line(exc)
    where = f"line {line} of the tests" if line else "the tests"
    text = source.splitlines()[line - 1].strip()[:160] if line and line <= len(source.splitlines()) else ""
    if isinstance(exc, AssertionError):
        return {"status": "failed", "detail": f"assertion failed at {where}: {text}"}
    if isinstance(exc, NotData):
        return {"status": "not_data", "detail": f"{exc} ({where})"[:500]}
    if getattr(exc, "raised_by_solution", False):
        return {"status": "raised", "detail": f"{_describe(exc)} (raised by the solution, {where})"[:500]}
    return {"status": "error", "detail": f"{_describe(exc)} at {where}: {text}"[:500]}


def _test_line(exc: BaseException) -> int | None:
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<tests>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _describe(exc: BaseException) -> str:
    lines = traceback.format_exception_only(type(exc), exc)
    return lines[-1].strip()[:300] if lines else type(exc).__name__


def report(result: dict[str, Any]) -> None:
    _write_all(RESULT_FD, json.dumps(result).encode())
    sys.stdout.flush()
