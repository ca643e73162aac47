"""HTTP attempts that end at a deadline, and a group of them that can be called off at once.

A socket timeout bounds each read, not the request: a server that sends one byte every few seconds keeps
a plain `urlopen(timeout=...)` waiting for ever. Here every attempt gets a timer that shuts its socket down
when the attempt's time is up, whatever phase it is in (sending, waiting for the status line, reading
headers or body); the blocked call then returns at once and the attempt reports why it ended. The same
mechanism cancels: `RequestGroup.cancel()` shuts down every open attempt of the group and refuses new ones,
so no request leaves after the caller has given up.

urllib stays the transport (it keeps proxies from the environment, HTTPS and redirects); only the
connection class is wrapped so the attempt can find its socket.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import socket
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any

DEADLINE = "deadline"
CANCELLED = "cancelled"


class Attempt:
    """One HTTP attempt: knows its connection's socket, and why it was cut off (None while it was not)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self.cut_off: str | None = None

    def cut(self, reason: str) -> None:
        """End the attempt now: the first reason wins, and a blocked send or read returns at once."""
        with self._lock:
            if self.cut_off is None:
                self.cut_off = reason
            sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed
                # The base class's shutdown works on the raw file descriptor, also under TLS.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def connected(self, connection: http.client.HTTPConnection) -> None:
        """Called once the connection is up, before anything is sent. (A TLS handshake is part of
        connecting, so it is bounded by the socket timeout rather than cut off mid-way.)"""
        with self._lock:
            # The socket, not the connection: urllib detaches the socket from the connection once the
            # headers are in, and the response reads the body through it.
            self._sock = connection.sock
            reason = self.cut_off
        if reason is not None:  # cut off while connecting: send nothing
            connection.close()
            raise ConnectionAbortedError(f"attempt {reason}")


class RequestGroup:
    """The attempts of one batch of work. `cancel()` cuts off every open attempt and refuses new ones."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: set[Attempt] = set()
        self.cancelled = threading.Event()
        # One opener for all attempts (building one costs ~0.7 ms, mostly reading proxy settings); its
        # handlers find the attempt of the calling thread.
        self.opener = urllib.request.build_opener(_WatchedHTTPHandler(), _WatchedHTTPSHandler())

    def cancel(self) -> None:
        with self._lock:
            self.cancelled.set()
            attempts = list(self._open)
        for attempt in attempts:
            attempt.cut(CANCELLED)

    @contextlib.contextmanager
    def attempt(self, timeout_s: float) -> Iterator[Attempt]:
        """An attempt that is cut off `timeout_s` seconds from now unless it ends first; requests sent
        through `self.opener` from this thread inside the block belong to it.

        Raises `GroupCancelled` instead of starting when the group is already cancelled.
        """
        attempt = Attempt()
        with self._lock:
            if self.cancelled.is_set():
                raise GroupCancelled()
            self._open.add(attempt)
        timer = threading.Timer(timeout_s, attempt.cut, args=(DEADLINE,))
        timer.daemon = True
        timer.start()
        _this_thread.attempt = attempt
        try:
            yield attempt
        finally:
            _this_thread.attempt = None
            timer.cancel()
            with self._lock:
                self._open.discard(attempt)


class GroupCancelled(Exception):
    """The group was cancelled before this attempt could start."""


# -- urllib plumbing ----------------------------------------------------------------------------------


class _ReportsSocket:
    """Mixin for urllib's connection classes: tells the attempt its socket once connected."""

    def __init__(self, *args: Any, attempt: Attempt, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._attempt = attempt

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        self._attempt.connected(self)  # type: ignore[arg-type]


class _WatchedHTTPConnection(_ReportsSocket, http.client.HTTPConnection):
    pass


class _WatchedHTTPSConnection(_ReportsSocket, http.client.HTTPSConnection):
    pass


_WATCHED = {
    http.client.HTTPConnection: _WatchedHTTPConnection,
    http.client.HTTPSConnection: _WatchedHTTPSConnection,
}


_this_thread = threading.local()  # .attempt: the attempt the calling thread is making, if any


class _Watching:
    """Mixin for urllib's handlers: every connection they open reports to the calling thread's attempt."""

    def do_open(self, http_class: Any, req: Any, **kwargs: Any) -> Any:
        attempt = getattr(_this_thread, "attempt", None)
        if attempt is not None:
            http_class = functools.partial(_WATCHED[http_class], attempt=attempt)
        return super().do_open(http_class, req, **kwargs)  # type: ignore[misc]


class _WatchedHTTPHandler(_Watching, urllib.request.HTTPHandler):
    pass


class _WatchedHTTPSHandler(_Watching, urllib.request.HTTPSHandler):
    pass
