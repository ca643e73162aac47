"""One HTTP attempt and the retry loop, against a real server on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from fault_server import Answer, Drop, FaultServer, Stall

from harness.backends.base import BackendError
from harness.backends.http_retry import (
    Cancelled,
    RetryPolicy,
    TransientError,
    redact_url,
    request_json,
    with_retries,
)

Serve = Callable[..., FaultServer]
FAST = RetryPolicy(max_retries=2, backoff_s=0.01, backoff_max_s=0.02)


def post(server: FaultServer, timeout_s: float = 5.0, url: str | None = None) -> tuple[Any, Any]:
    return request_json("POST", url or f"{server.url}/v1/completions", {"p": 1}, {}, timeout_s)


def test_a_json_answer_comes_back_with_lowercased_headers(serve: Serve) -> None:
    server = serve(lambda n, body: Answer(body={"echo": body}, headers={"X-Request-Id": "abc"}))
    payload, headers = post(server)
    assert payload == {"echo": {"p": 1}}
    assert headers["x-request-id"] == "abc"


@pytest.mark.parametrize(
    ("fault", "message", "status"),
    [
        (Answer(status=503, body=b"overloaded", headers={"Retry-After": "2"}), "HTTP 503: overloaded", 503),
        (Answer(body=b"<html>proxy error</html>"), "response is not JSON: <html>proxy error</html>", None),
        (Answer(body=b"  "), "empty response body", None),
        (Drop(), "connection dropped", None),
    ],
)
def test_trouble_worth_another_try_is_transient(
    serve: Serve, fault: Any, message: str, status: int | None
) -> None:
    server = serve(lambda n, body: fault)
    with pytest.raises(TransientError, match=message) as caught:
        post(server)
    assert caught.value.status == status
    if status == 503:
        assert caught.value.retry_after_s == 2.0


def test_a_stalled_server_is_cut_off_at_the_deadline(serve: Serve) -> None:
    server = serve(lambda n, body: Stall())
    started = time.monotonic()
    with pytest.raises(TransientError, match=r"within timeout_s = 0\.5 s"):
        post(server, timeout_s=0.5)
    assert time.monotonic() - started < 3


def test_what_a_person_must_fix_fails_at_once_with_a_hint(serve: Serve) -> None:
    server = serve(lambda n, body: Answer(status=404, body=b"no such route"))
    with pytest.raises(BackendError) as caught:
        post(server)
    message = str(caught.value)
    assert f"{server.url}/v1/completions answered HTTP 404: no such route" in message
    assert "model.options.base_url" in message
    assert server.count() == 1


def test_connection_refused_is_transient() -> None:
    with socket.socket() as probe:  # a port nothing listens on once this closes
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TransientError, match="connection failed"):
        request_json("GET", f"http://127.0.0.1:{port}/v1/models", None, {}, 2.0)


def test_retries_until_success_and_then_stop(serve: Serve) -> None:
    server = serve(
        lambda n, body: Answer(status=502, body=b"bad gateway") if n < 3 else Answer(body={"n": n})
    )
    url = f"{server.url}/v1/completions"
    result = with_retries(lambda: post(server)[0], FAST, url)
    assert result == {"n": 3} and server.count() == 3


def test_exhausted_retries_name_the_url_the_count_and_the_last_status(serve: Serve) -> None:
    server = serve(lambda n, body: Answer(status=503, body=b"down"))
    shown = server.url.replace("http://", "http://user:hunter2@")  # as a person may write base_url
    with pytest.raises(BackendError) as caught:
        with_retries(lambda: post(server), FAST, shown)
    message = str(caught.value)
    assert message.startswith(f"{server.url} failed 3 times in a row (last: HTTP 503; HTTP 503: down)")
    assert "hunter2" not in message
    assert server.count() == 3


def test_cancelling_stops_during_the_backoff_wait() -> None:
    cancelled = threading.Event()
    calls = []

    def attempt() -> None:
        calls.append(1)
        threading.Timer(0.1, cancelled.set).start()
        raise TransientError("busy")

    slow = RetryPolicy(max_retries=5, backoff_s=30.0, backoff_max_s=30.0)
    started = time.monotonic()
    with pytest.raises(Cancelled):
        with_retries(attempt, slow, "http://x", cancelled)
    assert calls == [1] and time.monotonic() - started < 5


def test_backoff_doubles_with_jitter_up_to_the_cap_and_honours_retry_after() -> None:
    policy = RetryPolicy(backoff_s=1.0, backoff_max_s=5.0)
    for retry, ceiling in ((0, 1.0), (1, 2.0), (2, 4.0), (3, 5.0), (10, 5.0)):
        delays = [policy.delay_s(retry) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
    assert policy.delay_s(0, retry_after_s=3.0) == 3.0
    assert policy.delay_s(0, retry_after_s=600.0) == 5.0
    assert policy.delay_s(0, retry_after_s=-1.0) == 0.0


def test_redact_url_keeps_host_port_and_path() -> None:
    assert redact_url("https://me:pw@host.example:8443/v1?x=1") == "https://host.example:8443/v1?x=1"
    assert redact_url("http://127.0.0.1:8000/v1") == "http://127.0.0.1:8000/v1"
