"""A fault-injecting OpenAI-compatible server on 127.0.0.1, standard library only.

It speaks just enough of the API for the `openai` backend (GET /v1/models, POST /v1/chat/completions and
/v1/completions) and answers each POST as a test's plan says: a normal answer (after a delay, with any
status, headers or model name), a body dripped one byte at a time, a request left unanswered, a connection
dropped before, during or instead of the answer. Every POST is recorded with its arrival time and how it
ended, so tests can count requests and see whether the client hung up on a request it gave up on.

Times are `time.monotonic()` readings of this process; tests run the client in the same process, so the
two clocks are one.
"""

from __future__ import annotations

import json
import select
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

# A sentinel for "name the model the client asked for", the usual server behaviour.
ECHO = "<echo the requested model>"


@dataclass(frozen=True)
class Answer:
    """A whole answer sent at once after `delay_s`. `body=None` means a normal chat answer."""

    status: int = 200
    body: Any = None
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    text: str = "ok"
    tokens: int = 3


@dataclass(frozen=True)
class Drip:
    """A normal answer sent `chunk` bytes at a time, one chunk every `interval_s`; with headers=True the
    status line and headers drip too (the client is then stuck before it has even seen a status)."""

    interval_s: float
    chunk: int = 1
    headers: bool = False
    text: str = "ok"


@dataclass(frozen=True)
class Stall:
    """Read the request and answer nothing, until the client hangs up or the server stops."""


@dataclass(frozen=True)
class Drop:
    """Close the connection: at once (`after_bytes=0`), or after that many bytes of a normal answer whose
    Content-Length promises more. `reset` closes with a TCP RST instead of an orderly FIN."""

    after_bytes: int = 0
    reset: bool = False


Fault = Answer | Drip | Stall | Drop
Plan = Callable[[int, dict[str, Any]], Fault]  # (POST number from 1, request body) -> what to do


@dataclass
class Post:
    """One POST as the server saw it."""

    number: int
    body: dict[str, Any]
    authorization: str | None
    arrived: float
    ended: float | None = None
    outcome: str = "open"  # answered, client_gone, dropped, stopped

    @property
    def prompt(self) -> str:
        messages = self.body.get("messages")
        if isinstance(messages, list) and messages:
            return str(messages[-1].get("content"))
        return str(self.body.get("prompt"))


def chat_answer(text: str, tokens: int, model: str | None, finish: str = "stop", **message: Any) -> dict:
    body: dict[str, Any] = {
        "id": "chatcmpl-fault",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text, **message},
                     "finish_reason": finish}],
        "usage": {"completion_tokens": tokens},
    }  # fmt: skip
    if model is not None:
        body["model"] = model
    return body


class FaultServer:
    """Serves `listed` in /v1/models and answers POSTs as `plan` says.

    `answer_model` is the name normal answers give in their `model` field: ECHO repeats the request's,
    a string names that model whatever was asked, None leaves the field out. With `tls` (certificate and
    key files) it serves HTTPS.
    """

    def __init__(self, plan: Plan, listed: tuple[str, ...] = ("fake",), answer_model: str | None = ECHO,
                 owned_by: str = "vllm", tls: tuple[Path, Path] | None = None):  # fmt: skip
        self.plan = plan
        self.listed = listed
        self.answer_model = answer_model
        self.owned_by = owned_by
        self.posts: list[Post] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.httpd.daemon_threads = True
        scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            # The handshake happens in the handler's thread, on its first read.
            self.httpd.socket = context.wrap_socket(
                self.httpd.socket, server_side=True, do_handshake_on_connect=False
            )
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}"
        # A short poll interval: close() waits for the serving loop to notice.
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FaultServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what tests read ------------------------------------------------------------------------------

    def count(self) -> int:
        with self._lock:
            return len(self.posts)

    def outcomes(self) -> list[str]:
        with self._lock:
            return [p.outcome for p in self.posts]

    def wait_until_settled(self, timeout_s: float = 5.0) -> None:
        """Wait until no POST is still being handled (stalled ones end when the client hangs up)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if all(p.outcome != "open" for p in self.posts):
                    return
            time.sleep(0.01)

    # -- what handlers call ---------------------------------------------------------------------------

    def _record(self, body: dict[str, Any], authorization: str | None) -> Post:
        with self._lock:
            post = Post(len(self.posts) + 1, body, authorization, time.monotonic())
            self.posts.append(post)
            return post

    def _end(self, post: Post, outcome: str) -> None:
        with self._lock:
            post.outcome, post.ended = outcome, time.monotonic()

    def _model_for(self, body: dict[str, Any]) -> str | None:
        return str(body.get("model")) if self.answer_model == ECHO else self.answer_model


def _handler_for(server: FaultServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def do_GET(self) -> None:
            if self.path.rstrip("/") != "/v1/models":
                self._whole(404, {"error": f"no route {self.path}"})
                return
            models = [{"id": name, "object": "model", "owned_by": server.owned_by} for name in server.listed]
            self._whole(200, {"object": "list", "data": models})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            post = server._record(body, self.headers.get("Authorization"))
            fault = server.plan(post.number, body)
            server._end(post, self._act(fault, body))

        # One method per kind of fault; each returns the outcome recorded for the POST.

        def _act(self, fault: Fault, body: dict[str, Any]) -> str:
            if isinstance(fault, Answer):
                if fault.delay_s and self._client_gone_within(fault.delay_s):
                    return "client_gone"
                payload = fault.body
                if payload is None:
                    payload = chat_answer(fault.text, fault.tokens, server._model_for(body))
                return self._whole(fault.status, payload, fault.headers)
            if isinstance(fault, Drip):
                return self._drip(fault, body)
            if isinstance(fault, Stall):
                return "client_gone" if self._client_gone_within(None) else "stopped"
            return self._drop(fault, body)

        def _whole(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> str:
            raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            try:
                self.wfile.write(_response_bytes(status, raw, headers or {}))
            except OSError:
                return "client_gone"
            return "answered"

        def _drip(self, fault: Drip, body: dict[str, Any]) -> str:
            raw = json.dumps(chat_answer(fault.text, 3, server._model_for(body))).encode()
            whole = _response_bytes(200, raw, {})
            head_end = whole.index(b"\r\n\r\n") + 4
            if not fault.headers:
                self.wfile.write(whole[:head_end])
                whole = whole[head_end:]
            for start in range(0, len(whole), fault.chunk):
                if self._client_gone_within(fault.interval_s):
                    return "client_gone"
                try:
                    self.wfile.write(whole[start : start + fault.chunk])
                except OSError:
                    return "client_gone"
            return "answered"

        def _drop(self, fault: Drop, body: dict[str, Any]) -> str:
            if fault.after_bytes:
                raw = json.dumps(chat_answer("ok", 3, server._model_for(body))).encode()
                self.wfile.write(_response_bytes(200, raw, {})[: fault.after_bytes])
            if fault.reset:  # SO_LINGER with a zero timeout turns close() into an RST
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return "dropped"

        def _client_gone_within(self, seconds: float | None) -> bool:
            """Wait `seconds` (None: until the server stops); True as soon as the client hangs up."""
            deadline = None if seconds is None else time.monotonic() + seconds
            while not server._stopping.is_set():
                left = 0.02 if deadline is None else min(0.02, deadline - time.monotonic())
                if left <= 0:
                    return False
                readable, _, _ = select.select([self.connection], [], [], left)
                if readable:
                    # The client sends nothing after its request, so anything readable is its hang-up:
                    # EOF, a reset, or (under TLS) a close alert.
                    return True
            return False

    return Handler


def _response_bytes(status: int, raw: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} Fault", "Content-Type: application/json", f"Content-Length: {len(raw)}",
             "Connection: close", *(f"{k}: {v}" for k, v in headers.items())]  # fmt: skip
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + raw
