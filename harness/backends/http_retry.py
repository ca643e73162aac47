"""JSON over HTTP with bounded retries, for backends that talk to a model server.

Only the standard library: a server backend must work in a bare environment, and the harness process
should not grow a dependency just to send a few thousand POSTs. Transient trouble (429, 5xx, timeouts,
dropped connections, a body that is not the JSON we expect) is retried with exponential backoff and
jitter; anything a person must fix (401, 404, 400) fails at once with the server's own words.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from harness.backends.base import BackendError
from harness.backends.http_deadline import CANCELLED, DEADLINE, Attempt, GroupCancelled, RequestGroup

T = TypeVar("T")

# Statuses worth another try: the server is overloaded, restarting, or behind a proxy that timed out.
RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
_ERROR_BODY_LIMIT = 500  # characters of a server's error body quoted back to the user


class TransientError(Exception):
    """One attempt failed in a way another attempt may not; `status` is the HTTP status if there was one."""

    def __init__(self, message: str, status: int | None = None, retry_after_s: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after_s = retry_after_s


class Cancelled(Exception):
    """The caller gave up (another request failed for good, or the consumer stopped reading)."""


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 5  # attempts after the first
    backoff_s: float = 1.0  # delay before the first retry; doubles each time
    backoff_max_s: float = 30.0

    def delay_s(self, retry_number: int, retry_after_s: float | None = None) -> float:
        """Seconds to wait before retry `retry_number` (0-based)."""
        if retry_after_s is not None:
            return min(max(retry_after_s, 0.0), self.backoff_max_s)
        ceiling = min(self.backoff_s * (2**retry_number), self.backoff_max_s)
        # Full-range jitter keeps many threads that failed together from retrying in lockstep.
        return ceiling * random.uniform(0.5, 1.0)


def redact_url(url: str) -> str:
    """The URL without user:password, so it can be printed and recorded."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def request_json(
    method: str,
    url: str,
    body: Mapping[str, Any] | None,
    headers: Mapping[str, str],
    timeout_s: float,
    group: RequestGroup | None = None,
) -> tuple[Any, Mapping[str, str]]:
    """One attempt: send `body` as JSON, return (decoded JSON, response headers).

    `timeout_s` is a deadline on the whole attempt (connecting, sending, and every read together).
    Raises TransientError for anything worth retrying, BackendError for what a person must fix, and
    Cancelled when `group` is cancelled before or during the attempt.
    """
    data = None if body is None else json.dumps(body).encode()
    all_headers = {"Accept": "application/json", **headers}
    if data is not None:
        all_headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, headers=all_headers, method=method)
    group = group or RequestGroup()
    try:
        with group.attempt(timeout_s) as attempt:
            raw, resp_headers = _exchange(group.opener, attempt, req, url, timeout_s)
    except GroupCancelled:
        raise Cancelled() from None
    # Whatever the transport said once the socket was shut down (a reset, a short read, a truncated
    # body that happens to parse), the attempt ended because of the cut-off.
    if attempt.cut_off == CANCELLED:
        raise Cancelled()
    if attempt.cut_off == DEADLINE:
        raise TransientError(f"no complete answer within timeout_s = {timeout_s:g} s")
    assert raw is not None
    if not raw.strip():
        raise TransientError("empty response body")
    try:
        return json.loads(raw), resp_headers
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise TransientError(f"response is not JSON: {_excerpt(raw)}") from None


def _exchange(
    opener: urllib.request.OpenerDirector,
    attempt: Attempt,
    req: urllib.request.Request,
    url: str,
    timeout_s: float,
) -> tuple[bytes | None, Mapping[str, str]]:
    """Send the request and read the whole answer; (None, {}) when the attempt was cut off."""
    try:
        with opener.open(req, timeout=timeout_s) as resp:
            raw = resp.read()
            return raw, {k.lower(): v for k, v in resp.headers.items()}
    except urllib.error.HTTPError as err:
        if attempt.cut_off is not None:
            return None, {}
        raise _status_error(err, url) from None
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as err:
        if attempt.cut_off is not None:
            return None, {}
        raise _transport_error(err, timeout_s) from None


def _transport_error(err: Exception, timeout_s: float) -> TransientError:
    if isinstance(err, urllib.error.URLError):
        if isinstance(err.reason, TimeoutError):
            return TransientError(f"no answer within timeout_s = {timeout_s:g} s ({err.reason})")
        return TransientError(f"connection failed: {err.reason}")
    if isinstance(err, TimeoutError):
        return TransientError(f"no answer within timeout_s = {timeout_s:g} s ({err})")
    return TransientError(f"connection dropped: {type(err).__name__}: {err}")


def _status_error(err: urllib.error.HTTPError, url: str) -> Exception:
    try:
        detail = _excerpt(err.read())
    except (OSError, http.client.HTTPException):
        detail = ""
    if err.code in RETRY_STATUSES:
        return TransientError(f"HTTP {err.code}: {detail}", status=err.code, retry_after_s=_retry_after(err))
    hint = {
        401: "check the API key (model.options.api_key_env names the environment variable holding it)",
        403: "check the API key and that it may use this model",
        404: "check model.options.base_url (it usually ends in /v1) and model.options.api",
    }.get(err.code, "check the model options and the server's log")
    return BackendError(f"{redact_url(url)} answered HTTP {err.code}: {detail}. What to do: {hint}.")


def _retry_after(err: urllib.error.HTTPError) -> float | None:
    value = err.headers.get("Retry-After") if err.headers else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date; our own backoff is good enough


def _excerpt(raw: bytes) -> str:
    text = raw.decode("utf-8", errors="replace").strip()
    return text if len(text) <= _ERROR_BODY_LIMIT else text[:_ERROR_BODY_LIMIT] + "..."


def with_retries(
    attempt: Callable[[], T],
    policy: RetryPolicy,
    url: str,
    cancelled: threading.Event | None = None,
) -> T:
    """Run `attempt` until it succeeds, retrying TransientError up to policy.max_retries times.

    After the last retry, raises BackendError naming the URL, the last status and the last error.
    Raises Cancelled as soon as `cancelled` is set, even in the middle of a backoff wait.
    """
    last: TransientError | None = None
    for retry_number in range(policy.max_retries + 1):
        if cancelled is not None and cancelled.is_set():
            raise Cancelled()
        try:
            return attempt()
        except TransientError as err:
            last = err
        if retry_number == policy.max_retries:
            break
        wait = policy.delay_s(retry_number, last.retry_after_s)
        if cancelled is not None:
            if cancelled.wait(wait):
                raise Cancelled()
        else:
            time.sleep(wait)
    assert last is not None
    status = f"HTTP {last.status}" if last.status is not None else "no HTTP status"
    raise BackendError(
        f"{redact_url(url)} failed {_times(policy.max_retries + 1)} in a row (last: {status}; {last}). "
        "What to do: check that the server is up and its log; if it is only slow or overloaded, raise "
        "model.options.timeout_s or max_retries, or lower concurrency."
    )


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"
