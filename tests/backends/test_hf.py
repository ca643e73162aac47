"""The transformers backend on the real embedded model, plus plumbing on a tiny random model."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from harness.backends.base import BackendError
from harness.backends.model_files import embedded_model_path, file_sha256, folder_weights_sha256
from harness.backends.registry import create_backend
from harness.types import ChatMessage, Completion, ModelSpec, Request, Sampling
from tests.tiny_model import build_tiny_model

ALIAS = "smollm2-135m-instruct"
SHORT_ANSWER = "What is 2+2?"
POEM = "Write a long poem about the sea."
COUNTING = "Count from 1 to 20, separated by commas."
GREETING = "Say hi."


def request(prompt: str, index: int = 0, seed: int = 0, **sampling: Any) -> Request:
    return Request(
        task="t",
        problem_id=f"p{index}",
        sample_index=0,
        messages=(ChatMessage("user", prompt),),
        sampling=Sampling(**sampling),
        seed=seed,
    )


def by_id(completions: Any) -> dict[str, Completion]:
    return {c.problem_id: c for c in completions}


def test_info_describes_the_embedded_model(smol_backend: Any) -> None:
    info = smol_backend.info()
    gguf = embedded_model_path(ALIAS)
    assert gguf is not None
    template = smol_backend.tokenizer.chat_template
    assert (info.backend, info.path, info.dtype, info.device, info.batch_size) == (
        "hf",
        ALIAS,
        "float32",
        "cpu",
        8,
    )
    assert info.revision == "sha256:" + file_sha256(gguf)[:16]
    assert info.chat_template_hash == hashlib.sha256(template.encode()).hexdigest()[:16]
    assert info.engine.startswith("transformers 5.") and " / torch 2." in info.engine
    assert info.extra["gguf_file"] == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert info.extra["quantization"] == "Q4_1 dequantized to float32"
    # What the outputs depend on: deterministic by default, the checked number of rows per step.
    assert info.extra["deterministic"] is True and info.extra["batch_invariant"] is True
    assert info.extra["decoding"] == "per-row attention, per-row prefill, continuous batching"
    assert 1 <= info.extra["rows_per_step"] <= 8
    assert info.extra["threads"] >= 1 and info.extra["cpu_capability"]


def test_prompt_uses_the_chat_template(smol_backend: Any) -> None:
    text = smol_backend.tokenizer.decode(smol_backend.render([ChatMessage("user", GREETING)]))
    assert text.startswith("<|im_start|>system\n")
    assert text.endswith("<|im_start|>user\nSay hi.<|im_end|>\n<|im_start|>assistant\n")


@pytest.mark.slow
def test_greedy_generation_reports_finish_reason_and_tokens(smol_backend: Any) -> None:
    prompts = [SHORT_ANSWER, POEM, COUNTING]
    out = by_id(smol_backend.generate([request(p, i, max_new_tokens=16) for i, p in enumerate(prompts)]))
    assert sorted(out) == ["p0", "p1", "p2"]
    short, poem, counting = out["p0"], out["p1"], out["p2"]
    assert short.finish_reason == "stop" and "4" in short.text
    # The answer's own tokens plus the end-of-turn token that stopped it.
    answer_tokens = smol_backend.tokenizer(short.text, add_special_tokens=False)["input_ids"]
    assert short.output_tokens == len(answer_tokens) + 1 < 16
    for long in (poem, counting):
        assert (long.finish_reason, long.output_tokens) == ("length", 16)
        assert long.text.strip()
    assert counting.text.startswith("1")
    assert all(c.seconds > 0 for c in out.values())


def test_live_token_counts_cover_the_rows_in_flight(smol_backend: Any) -> None:
    events: list[tuple[str, int]] = []
    smol_backend.on_tokens = lambda tokens: events.append(("in flight", tokens))
    try:
        prompts = [SHORT_ANSWER, POEM, COUNTING]
        for completion in smol_backend.generate(
            [request(p, i, max_new_tokens=16) for i, p in enumerate(prompts)]
        ):
            events.append(("finished", completion.output_tokens))
    finally:
        smol_backend.on_tokens = None
    # A progress bar shows the finished rows' tokens plus the last in-flight count; the backend reports
    # before it hands rows over, so nothing is counted twice and the bar ends at the exact total.
    finished = [tokens for kind, tokens in events if kind == "finished"]
    in_flight = [tokens for kind, tokens in events if kind == "in flight"]
    assert len(in_flight) >= 2 and in_flight[-1] == 0
    assert sum(finished) < 48 and max(in_flight) <= 48 - finished[0]  # the short answer stopped early
    # A row cut by a stop string stops counting there too.
    reports: list[int] = []
    smol_backend.on_tokens = reports.append
    try:
        cut = list(smol_backend.generate([request(COUNTING, 0, max_new_tokens=40, stop=("7",))]))
    finally:
        smol_backend.on_tokens = None
    assert cut[0].output_tokens < 40 and max(reports) < cut[0].output_tokens and reports[-1] == 0


@pytest.mark.slow
def test_each_row_is_handed_over_when_it_finishes(smol_backend: Any) -> None:
    # Sorted by prompt length the poem comes first in the batch, but the short answer ends first and is
    # yielded (so journaled) while the poem is still being decoded.
    requests = [
        request(SHORT_ANSWER, 0, max_new_tokens=40),
        request(POEM + " " + COUNTING, 1, max_new_tokens=40),
    ]
    order = [c.problem_id for c in smol_backend.generate(requests)]
    assert order == ["p0", "p1"]


@pytest.mark.slow
def test_greedy_text_does_not_depend_on_the_batch(smol_backend: Any) -> None:
    alone = next(iter(smol_backend.generate([request(POEM, 1, max_new_tokens=12)])))
    batch = [request(GREETING, 0, max_new_tokens=12), request(POEM, 1, max_new_tokens=12)]
    batch.append(request(COUNTING + " Then say goodbye politely.", 2, max_new_tokens=12))
    together = by_id(smol_backend.generate(batch))
    got = together["p1"]
    assert (got.text, got.output_tokens, got.finish_reason) == (alone.text, alone.output_tokens, "length")


@pytest.mark.slow
def test_stop_strings_cut_the_text_for_that_row_only(smol_backend: Any) -> None:
    requests = [
        request(COUNTING, 0, max_new_tokens=40, stop=("7",)),
        request(POEM, 1, max_new_tokens=40, stop=("7",)),
    ]
    out = by_id(smol_backend.generate(requests))
    counting, poem = out["p0"], out["p1"]
    assert counting.finish_reason == "stop"
    assert "7" not in counting.text
    assert counting.text.startswith("1") and "6" in counting.text
    # Stopped early: the row's count excludes the padding it received while the poem went on.
    assert counting.output_tokens < 40
    assert (poem.finish_reason, poem.output_tokens) == ("length", 40)


@pytest.mark.slow
def test_seeded_samples_do_not_depend_on_the_batch(smol_backend: Any) -> None:
    settings = {"temperature": 0.7, "top_p": 0.95, "top_k": 50, "max_new_tokens": 12}
    target = request(POEM, 1, seed=11, **settings)
    alone = next(iter(smol_backend.generate([target])))
    others = [
        request(GREETING, 0, seed=5, **settings),
        request(COUNTING + " Then explain why counting matters.", 2, seed=6, **settings),
    ]
    together = by_id(smol_backend.generate([others[1], target, others[0]]))
    assert together["p1"].text == alone.text
    assert together["p1"].output_tokens == alone.output_tokens


@pytest.mark.slow
def test_different_seeds_give_different_samples(smol_backend: Any) -> None:
    requests = [request(POEM, i, seed=100 + i, temperature=1.0, max_new_tokens=12) for i in range(3)]
    texts = {c.text for c in smol_backend.generate(requests)}
    assert len(texts) == 3
    again = {c.text for c in smol_backend.generate(requests)}
    assert again == texts


def test_bad_path_gives_backend_error_with_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    spec = ModelSpec(name="m", backend="hf", path=str(missing), device="cpu")
    with pytest.raises(BackendError) as caught:
        create_backend(spec)
    assert str(missing) in str(caught.value)


def test_unknown_device_and_dtype_are_refused(tiny_model: Path) -> None:
    from harness.backends.hf import HFBackend

    with pytest.raises(BackendError, match="'int8'"):
        HFBackend(ModelSpec(name="m", backend="hf", path=str(tiny_model), dtype="int8", device="cpu"))
    with pytest.raises(BackendError, match="'tpu'"):
        HFBackend(ModelSpec(name="m", backend="hf", path=str(tiny_model), device="tpu"))


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised 2-layer Llama with a word-level tokenizer and no chat template."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama"), context=128)


def test_tiny_local_folder_plumbing(tiny_model: Path) -> None:
    import torch

    from harness.backends.hf import HFBackend

    backend = HFBackend(ModelSpec(name="tiny", backend="hf", path=str(tiny_model), device="cpu"))
    info = backend.info()
    assert info.revision == "sha256:" + folder_weights_sha256(tiny_model)[:16]
    assert (info.dtype, info.device, info.batch_size, info.chat_template_hash) == ("float32", "cpu", 32, None)
    assert "gguf_file" not in info.extra and info.extra["deterministic"] is True
    # No chat template: message contents are joined plainly.
    rendered = backend.render([ChatMessage("system", "the sea"), ChatMessage("user", "is blue")])
    assert backend.tokenizer.decode(rendered) == "the sea is blue"
    prompts = ["the sea", "one two three", "sun"]
    requests = [request(p, i, max_new_tokens=5) for i, p in enumerate(prompts)]
    out = by_id(backend.generate(requests))
    assert sorted(out) == ["p0", "p1", "p2"]
    for index, prompt in enumerate(prompts):
        # The same prompt alone through generate(): the backend counts its tokens up to the first EOS.
        ids = torch.tensor([backend.render([ChatMessage("user", prompt)])])
        alone = backend.model.generate(ids, max_new_tokens=5, do_sample=False, eos_token_id=1, pad_token_id=0)
        new = alone[0, ids.shape[1] :].tolist()
        expected = new.index(1) + 1 if 1 in new else len(new)
        completion = out[f"p{index}"]
        assert completion.output_tokens == expected
        assert (completion.finish_reason == "length") == (1 not in new)
    backend.close()


def test_tiny_model_in_bfloat16_reports_its_dtype(tiny_model: Path) -> None:
    from harness.backends.hf import HFBackend

    spec = ModelSpec(name="tiny", backend="hf", path=str(tiny_model), dtype="bfloat16", device="cpu")
    backend = HFBackend(spec)
    assert backend.info().dtype == "bfloat16"
    sampled = request("the sea", 0, seed=3, temperature=1.0, top_k=5, max_new_tokens=4)
    first = [c.text for c in backend.generate([sampled])]
    assert first == [c.text for c in backend.generate([sampled])]


TINY_PROMPTS = ["the sea", "one two three four five", "sun", "a red sun is blue", "two"]


def tiny_requests(**sampling: Any) -> list[Request]:
    return [request(p, i, seed=40 + i, **sampling) for i, p in enumerate(TINY_PROMPTS)]


@pytest.mark.parametrize("sampling", [{"max_new_tokens": 6}, {"max_new_tokens": 6, "temperature": 1.0}])
def test_tiny_deterministic_rows_do_not_depend_on_the_batch_size(tiny_model: Path, sampling: Any) -> None:
    from harness.backends.hf import HFBackend

    outputs = []
    for batch_size in (1, 4):
        spec = ModelSpec(name="tiny", backend="hf", path=str(tiny_model), device="cpu", batch_size=batch_size)
        backend = HFBackend(spec)
        assert backend.info().extra["batch_invariant"] is True
        outputs.append(
            {
                c.problem_id: (c.text, c.output_tokens, c.finish_reason)
                for c in backend.generate(tiny_requests(**sampling))
            }
        )
    assert outputs[0] == outputs[1] and len(outputs[0]) == len(TINY_PROMPTS)


def test_tiny_padded_attention_mode_is_recorded_as_batch_dependent(tiny_model: Path) -> None:
    from harness.backends.hf import HFBackend

    spec = ModelSpec(
        name="tiny", backend="hf", path=str(tiny_model), device="cpu", batch_size=4,
        options={"deterministic": False},
    )  # fmt: skip
    backend = HFBackend(spec)
    extra = backend.info().extra
    assert (extra["deterministic"], extra["batch_invariant"], extra["rows_per_step"]) == (False, False, 4)
    assert extra["decoding"] == "padded batch attention, continuous batching"
    out = by_id(backend.generate(tiny_requests(max_new_tokens=6)))
    assert sorted(out) == [f"p{i}" for i in range(len(TINY_PROMPTS))]
    assert all(0 < c.output_tokens <= 6 for c in out.values())


def test_unknown_and_mistyped_hf_options_are_refused_before_loading(tmp_path: Path) -> None:
    from harness.backends.hf import HFBackend

    missing = str(tmp_path / "never-read")
    for options, message in (
        ({"deterministc": True}, "model.options.deterministc"),
        ({"deterministic": "yes"}, "true or false"),
    ):
        with pytest.raises(BackendError, match=message):
            HFBackend(ModelSpec(name="m", backend="hf", path=missing, device="cpu", options=options))


def test_sliding_window_models_go_through_generate(tiny_model: Path, tmp_path: Path) -> None:
    """The decode loop's per-row attention has no sliding window, so such models use generate()."""
    import shutil

    import torch
    from transformers import MistralConfig, MistralForCausalLM

    from harness.backends.hf import HFBackend

    folder = tmp_path / "tiny-mistral-sliding"
    shutil.copytree(tiny_model, folder, ignore=shutil.ignore_patterns("*.safetensors", "config.json"))
    config = MistralConfig(
        vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
        num_key_value_heads=1, max_position_embeddings=128, sliding_window=4, pad_token_id=0,
        eos_token_id=1, bos_token_id=None,
    )  # fmt: skip
    torch.manual_seed(0)
    MistralForCausalLM(config).save_pretrained(folder)
    for deterministic, rows in ((True, 1), (False, 32)):
        spec = ModelSpec(
            name="q", backend="hf", path=str(folder), device="cpu", options={"deterministic": deterministic}
        )
        backend = HFBackend(spec)
        extra = backend.info().extra
        assert extra["decoding"] == "generate(): it uses sliding-window attention"
        assert (extra["rows_per_step"], extra["batch_invariant"]) == (rows, deterministic)
        assert backend.tokenizer.decode(backend.render([ChatMessage("user", "the sea")])) == "the sea"
        out = by_id(backend.generate(tiny_requests(max_new_tokens=8)))
        assert len(out) == len(TINY_PROMPTS) and all(0 < c.output_tokens <= 8 for c in out.values())


def decode_passes(backend: Any, requests: list[Request]) -> tuple[dict[str, Any], list[int]]:
    """Each request's (text, tokens, finish reason), and the number of rows of every decode pass."""
    passes: list[int] = []

    def count(module: Any, args: Any, kwargs: Any) -> None:
        ids = kwargs["input_ids"]
        if ids.shape[1] == 1:  # a decode step (a prefill feeds the whole prompt)
            passes.append(ids.shape[0])

    hook = backend.model.register_forward_pre_hook(count, with_kwargs=True)
    try:
        out = {c.problem_id: (c.text, c.output_tokens, c.finish_reason) for c in backend.generate(requests)}
    finally:
        hook.remove()
    return out, passes


@pytest.mark.parametrize("deterministic", [True, False])
def test_tiny_finished_rows_are_refilled_with_waiting_prompts(tiny_model: Path, deterministic: bool) -> None:
    from harness.backends.hf import HFBackend

    # Per-request lengths with the end of sequence ignored, so each row runs exactly its max_new_tokens.
    # Prompts of two or more tokens, so that a prefill never looks like a decode pass.
    prompts = ["the sea", "one two three four five", "a red sun", "a red sun is blue", "two three"]
    lengths = [9, 2, 5, 3, 7]
    requests = [
        request(p, i, max_new_tokens=n) for i, (p, n) in enumerate(zip(prompts, lengths, strict=True))
    ]
    options = {"deterministic": deterministic}
    spec = ModelSpec(
        name="tiny", backend="hf", path=str(tiny_model), device="cpu", batch_size=2, options=options
    )
    backend = HFBackend(spec)
    backend.eos_ids = []
    refilled, passes = decode_passes(backend, requests)
    backend.refill = False
    static, static_passes = decode_passes(backend, requests)
    assert {k: v[1:] for k, v in refilled.items()} == {f"p{i}": (n, "length") for i, n in enumerate(lengths)}
    # The first token of each row comes from its prefill; every decode pass after that carries only rows
    # that still have tokens to make, and with refilling, two of them until the queue runs dry.
    assert sum(passes) == sum(static_passes) == sum(n - 1 for n in lengths)
    assert passes[: len(passes) - max(lengths)] == [2] * (len(passes) - max(lengths))
    assert len(passes) < len(static_passes)
    if deterministic:  # the same bits whichever rows shared a pass
        assert refilled == static
        one_row = HFBackend(
            ModelSpec(name="tiny", backend="hf", path=str(tiny_model), device="cpu", batch_size=1)
        )
        one_row.eos_ids = []
        assert decode_passes(one_row, requests)[0] == refilled
