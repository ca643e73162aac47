"""The openai backend against a fault-injecting server on 127.0.0.1 (tests/backends/fault_server.py).

Each test injects one fault and asserts what the backend must do about it: how long it may take (bounds
with generous slack for a shared machine), how many requests reach the server, whether the client hung
up on the requests it gave up on, what a sample's `seconds` counts, and which model name is recorded.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fault_server import Answer, Drip, Drop, Fault, FaultServer, Stall

from harness.backends.base import BackendError
from harness.backends.openai_compat import OpenAICompatBackend
from harness.backends.served_model import same_model
from harness.types import ChatMessage, Completion, ModelSpec, Request, Sampling


def requests_for(count: int) -> list[Request]:
    sampling = Sampling(max_new_tokens=8)
    return [Request("t", f"p{i}", 0, (ChatMessage("user", f"p{i}"),), sampling, seed=i) for i in range(count)]


def backend_for(server: FaultServer, model: str = "fake", **options: Any) -> OpenAICompatBackend:
    return OpenAICompatBackend(ModelSpec("m", "openai", model, options={"base_url": server.url, **options}))


def by_prompt(faults: dict[str, Fault], default: Fault) -> Callable[[int, dict[str, Any]], Fault]:
    """A plan that answers each request by its prompt (requests_for's prompts are p0, p1, ...)."""
    return lambda _, body: faults.get(body["messages"][-1]["content"], default)


def run_until_failure(
    backend: OpenAICompatBackend, requests: list[Request]
) -> tuple[list[Completion], str, float]:
    """(completions yielded before the failure, the error, the time.monotonic() when it was raised)."""
    got: list[Completion] = []
    with pytest.raises(BackendError) as err:
        for completion in backend.generate(requests):
            got.append(completion)
    return got, str(err.value), time.monotonic()


# -- timeout_s is a deadline on the whole request -----------------------------------------------------


@pytest.mark.parametrize("headers", [False, True], ids=["body-drips", "status-line-drips"])
def test_a_dripping_server_cannot_hold_a_request_past_timeout_s(
    serve: Callable[..., FaultServer], headers: bool
) -> None:
    # One byte every 0.2 s: every read succeeds well within the 1 s timeout, but the ~250-byte answer
    # would take ~50 s. Two attempts of 1 s each must end the request in about 2 s.
    server = serve(lambda n, _: Drip(interval_s=0.2, headers=headers))
    backend = backend_for(server, timeout_s=1.0, max_retries=1, backoff_s=0.05)
    start = time.monotonic()
    _, error, ended = run_until_failure(backend, requests_for(1))
    assert 1.9 <= ended - start < 5.0
    assert "failed 2 times" in error and "no complete answer within timeout_s = 1 s" in error
    server.wait_until_settled()
    assert server.outcomes() == ["client_gone", "client_gone"]


def test_a_slow_answer_that_completes_within_timeout_s_is_kept(serve: Callable[..., FaultServer]) -> None:
    server = serve(lambda n, _: Drip(interval_s=0.05, chunk=40, text="slow but whole"))
    backend = backend_for(server, timeout_s=5.0, max_retries=0)
    (completion,) = list(backend.generate(requests_for(1)))
    assert completion.text == "slow but whole"
    assert server.count() == 1 and completion.seconds >= 0.15  # it did drip: at least 4 chunks of 0.05 s


def test_a_stalled_request_is_cut_off_at_timeout_s_and_retried(serve: Callable[..., FaultServer]) -> None:
    server = serve(lambda n, _: Stall())
    backend = backend_for(server, timeout_s=0.5, max_retries=2, backoff_s=0.05)
    start = time.monotonic()
    _, error, ended = run_until_failure(backend, requests_for(1))
    assert 1.5 <= ended - start < 4.5
    assert "failed 3 times" in error
    server.wait_until_settled()
    assert server.outcomes() == ["client_gone"] * 3


@pytest.fixture
def certificate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 that the client trusts (through SSL_CERT_FILE)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl command to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    return cert, key


def test_over_https_the_deadline_holds_too(
    serve: Callable[..., FaultServer], certificate: tuple[Path, Path]
) -> None:
    server = serve(
        lambda n, _: Answer(text="secure") if n == 1 else Drip(interval_s=0.2, headers=True), tls=certificate
    )
    assert server.url.startswith("https://")
    backend = backend_for(server, timeout_s=1.0, max_retries=0)
    (completion,) = list(backend.generate(requests_for(1)))
    assert completion.text == "secure"
    start = time.monotonic()
    _, error, ended = run_until_failure(backend, requests_for(1))
    assert 0.9 <= ended - start < 3.0 and "no complete answer within timeout_s = 1 s" in error
    server.wait_until_settled()
    assert server.outcomes() == ["answered", "client_gone"]


# -- transient faults are retried ---------------------------------------------------------------------


def test_dropped_reset_and_truncated_answers_are_retried(serve: Callable[..., FaultServer]) -> None:
    faults: dict[int, Fault] = {1: Drop(), 2: Drop(reset=True), 3: Drop(after_bytes=90)}
    server = serve(lambda n, _: faults.get(n, Answer(text="fourth time lucky")))
    backend = backend_for(server, max_retries=3, backoff_s=0.01)
    (completion,) = list(backend.generate(requests_for(1)))
    assert completion.text == "fourth time lucky"
    assert server.outcomes() == ["dropped", "dropped", "dropped", "answered"]


def test_seconds_count_the_successful_attempt_only(serve: Callable[..., FaultServer]) -> None:
    # A 503 after 0.4 s, a 429, each asking for 0.5 s of backoff, then an answer after 0.3 s: the
    # request takes at least 1.7 s, of which 0.3 s produced the tokens.
    faults: dict[int, Fault] = {
        1: Answer(status=503, body={"error": "busy"}, delay_s=0.4, headers={"Retry-After": "0.5"}),
        2: Answer(status=429, body={"error": "slow down"}, headers={"Retry-After": "0.5"}),
    }
    server = serve(lambda n, _: faults.get(n, Answer(delay_s=0.3)))
    backend = backend_for(server)
    start = time.monotonic()
    (completion,) = list(backend.generate(requests_for(1)))
    elapsed = time.monotonic() - start
    assert server.count() == 3 and elapsed >= 1.7
    assert 0.3 <= completion.seconds < 1.0
    assert completion.seconds < elapsed - 1.0  # neither the backoff nor the failed attempts count


# -- a permanent failure calls off the rest ------------------------------------------------------------


def test_a_permanent_failure_cuts_off_requests_in_flight(serve: Callable[..., FaultServer]) -> None:
    # p0 fails for good after 0.5 s, p1 answers at once, the rest stall (timeout_s 30 would hold them
    # 30 s each). Concurrency 4: p0-p3 start, p4 takes p1's place; p5-p7 must never be sent.
    bad = Answer(status=400, body={"error": "prompt too long"}, delay_s=0.5)
    server = serve(by_prompt({"p0": bad, "p1": Answer(text="done early")}, Stall()))
    backend = backend_for(server, concurrency=4, timeout_s=30.0)
    start = time.monotonic()
    got, error, raised = run_until_failure(backend, requests_for(8))
    assert raised - start < 3.0
    assert "HTTP 400" in error and "prompt too long" in error
    assert [(c.problem_id, c.text) for c in got] == [("p1", "done early")]
    server.wait_until_settled(timeout_s=2.0)
    posts = list(server.posts)
    assert {p.prompt for p in posts} <= {"p0", "p1", "p2", "p3", "p4"}
    assert all(p.arrived <= raised for p in posts)
    stalled = [p for p in posts if p.prompt not in ("p0", "p1")]
    assert stalled and all(p.outcome == "client_gone" and p.ended and p.ended < raised + 1.0 for p in stalled)
    time.sleep(0.3)
    assert server.count() == len(posts)


def test_a_permanent_failure_stops_the_retries_of_other_requests(serve: Callable[..., FaultServer]) -> None:
    # The case that took 13 s and 9 extra requests: the other requests keep getting 503s and would
    # retry 50 times each. None may be sent once p0's 400 is known.
    bad = Answer(status=400, body={"error": "bad request"}, delay_s=0.5)
    server = serve(by_prompt({"p0": bad}, Answer(status=503, body={"error": "busy"})))
    backend = backend_for(server, concurrency=4, max_retries=50, backoff_s=0.05, backoff_max_s=0.1)
    start = time.monotonic()
    got, error, raised = run_until_failure(backend, requests_for(8))
    assert got == [] and "HTTP 400" in error
    assert 0.4 <= raised - start < 3.0
    count = server.count()
    assert count > 4  # the others did retry while p0 was pending
    assert all(p.arrived <= raised for p in server.posts)
    time.sleep(0.5)
    assert server.count() == count


def test_a_consumer_that_stops_reading_cancels_what_is_in_flight(serve: Callable[..., FaultServer]) -> None:
    server = serve(by_prompt({"p0": Answer(text="first")}, Stall()))
    backend = backend_for(server, concurrency=3, timeout_s=30.0)
    generator = backend.generate(requests_for(6))
    start = time.monotonic()
    assert next(generator).text == "first"
    generator.close()
    closed = time.monotonic()
    assert closed - start < 3.0
    server.wait_until_settled(timeout_s=2.0)
    outcomes = {p.prompt: p.outcome for p in server.posts}
    assert outcomes.pop("p0") == "answered"
    assert set(outcomes) <= {"p1", "p2", "p3"} and set(outcomes.values()) == {"client_gone"}
    assert all(p.arrived <= closed for p in server.posts)


# -- the model the answers name ------------------------------------------------------------------------


def test_answers_from_another_model_are_refused_with_both_names(serve: Callable[..., FaultServer]) -> None:
    server = serve(lambda n, _: Answer(), listed=("fake",), answer_model="llama-3-8b-instruct")
    backend = backend_for(server, concurrency=1)
    got, error, _ = run_until_failure(backend, requests_for(3))
    assert got == []
    assert "'llama-3-8b-instruct'" in error and "'fake'" in error and "allow_model_mismatch: true" in error
    assert server.count() == 1  # not retried, and nothing else sent
    assert backend.info().extra["served_model"] == "llama-3-8b-instruct"


def test_an_allowed_mismatch_is_recorded_with_both_names(serve: Callable[..., FaultServer]) -> None:
    server = serve(lambda n, _: Answer(), listed=("fake",), answer_model="llama-3-8b-instruct")
    backend = backend_for(server, allow_model_mismatch=True)
    assert backend.info().extra["served_model"] is None  # nothing answered yet
    assert len(list(backend.generate(requests_for(3)))) == 3
    info = backend.info()
    assert (info.path, info.extra["served_model"], info.extra["allow_model_mismatch"]) == (
        "fake",
        "llama-3-8b-instruct",
        True,
    )


def test_a_path_variant_of_the_name_is_accepted_and_recorded_as_given(
    serve: Callable[..., FaultServer],
) -> None:
    server = serve(
        lambda n, _: Answer(),
        listed=("Qwen2.5-0.5B-Instruct",),
        answer_model="/models/Qwen/Qwen2.5-0.5B-Instruct",
    )
    backend = backend_for(server, model="Qwen2.5-0.5B-Instruct")
    assert len(list(backend.generate(requests_for(2)))) == 2
    assert backend.info().extra["served_model"] == "/models/Qwen/Qwen2.5-0.5B-Instruct"
    assert "allow_model_mismatch" not in backend.info().extra


def test_answers_that_name_no_model_are_accepted_and_recorded_as_none(
    serve: Callable[..., FaultServer],
) -> None:
    server = serve(lambda n, _: Answer(), answer_model=None)
    backend = backend_for(server)
    assert len(list(backend.generate(requests_for(2)))) == 2
    assert backend.info().extra["served_model"] is None


@pytest.mark.parametrize(
    ("requested", "served", "same"),
    [
        ("fake", "fake", True),
        ("Qwen2.5-7B-Instruct", "Qwen/Qwen2.5-7B-Instruct", True),
        ("Qwen/Qwen2.5-7B-Instruct", "/data/hf/Qwen/Qwen2.5-7B-Instruct", True),
        ("model.gguf", "C:\\models\\model.gguf", True),
        ("llama3", "llama3:latest", True),
        ("Qwen/Qwen2.5-7B-Instruct", "someone/Qwen2.5-7B-Instruct", False),
        ("Qwen2.5-7B-Instruct", "Qwen2.5-72B-Instruct", False),
        ("llama3", "llama3:70b", False),
        ("gpt-4o", "gpt-4o-2024-08-06", False),
        ("fake", "", False),
    ],
)
def test_which_served_names_count_as_the_requested_model(requested: str, served: str, same: bool) -> None:
    assert same_model(requested, served) is same


def test_allow_model_mismatch_must_be_a_boolean(serve: Callable[..., FaultServer]) -> None:
    server = serve(lambda n, _: Answer())
    with pytest.raises(BackendError, match="allow_model_mismatch: expected true or false, got 'yes'"):
        backend_for(server, allow_model_mismatch="yes")
    with pytest.raises(BackendError, match="timeout_s: expected a number of seconds above 0, got 0"):
        backend_for(server, timeout_s=0)
