"""Attempts cut off at a deadline whatever phase they are in, and groups of attempts called off at once."""

from __future__ import annotations

import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from fault_server import Answer, Drip, FaultServer, Stall

from harness.backends.http_deadline import CANCELLED, DEADLINE, GroupCancelled, RequestGroup

Serve = Callable[..., FaultServer]


def send(group: RequestGroup, server: FaultServer, timeout_s: float) -> tuple[str | None, Any]:
    """One POST inside an attempt: (why it was cut off, the body or the exception it ended with)."""
    request = urllib.request.Request(
        f"{server.url}/v1/completions", data=b'{"p": 1}', headers={"Content-Type": "application/json"}
    )
    with group.attempt(timeout_s) as attempt:
        try:
            # The socket timeout alone would never fire: each byte arrives well within it.
            with group.opener.open(request, timeout=60) as response:
                outcome: Any = response.read()
        except Exception as err:
            outcome = err
    return attempt.cut_off, outcome


def test_a_server_dripping_bytes_is_cut_off_at_the_deadline(serve: Serve) -> None:
    for headers_too in (False, True):  # stuck in the body, or before the status line
        server = serve(lambda n, body, h=headers_too: Drip(interval_s=0.1, headers=h))
        started = time.monotonic()
        cut_off, _ = send(RequestGroup(), server, timeout_s=0.5)
        assert cut_off == DEADLINE
        assert time.monotonic() - started < 3


def test_an_answer_in_time_is_not_cut_off_later(serve: Serve) -> None:
    server = serve(lambda n, body: Answer(body={"ok": True}))
    cut_off, body = send(RequestGroup(), server, timeout_s=0.3)
    assert cut_off is None and body == b'{"ok": true}'
    time.sleep(0.5)  # the deadline's timer was stopped with the attempt
    assert server.count() == 1


def test_cancel_ends_open_attempts_and_refuses_new_ones(serve: Serve) -> None:
    server = serve(lambda n, body: Stall())
    group = RequestGroup()
    results: list[tuple[str | None, Any]] = []
    worker = threading.Thread(target=lambda: results.append(send(group, server, timeout_s=60)))
    worker.start()
    deadline = time.monotonic() + 5
    while server.count() == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    group.cancel()
    worker.join(timeout=5)
    assert not worker.is_alive() and time.monotonic() - started < 3
    assert results[0][0] == CANCELLED
    server.wait_until_settled()
    assert server.outcomes() == ["client_gone"]  # the server saw the client hang up
    with pytest.raises(GroupCancelled):
        send(group, server, timeout_s=1)
    assert server.count() == 1  # nothing was sent after the cancel
