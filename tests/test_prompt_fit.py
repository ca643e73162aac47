"""Prompts longer than the model's context: found before generating, given their own verdict, counted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.config import load_config
from harness.pipeline import run
from harness.prompt_fit import check_prompts
from harness.results import read_samples, read_score_file
from harness.types import ChatMessage, ModelSpec, Request, Sampling
from tests.test_pipeline import sample_answers, write_replay
from tests.tiny_model import build_tiny_model

CONTEXT = 64


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny"), context=CONTEXT)


def test_prompt_tokens_are_counted_against_the_context(tiny: Path) -> None:
    from harness.backends.hf import HFBackend

    backend = HFBackend(ModelSpec(name="t", backend="hf", path=str(tiny), device="cpu"))
    assert backend.context_length() == CONTEXT
    words = lambda k: " ".join(["sea"] * k)  # noqa: E731 (one word is one token for this tokenizer)
    requests = [
        Request("t", pid, i, (ChatMessage("user", words(k)),), Sampling(), seed=0)
        for pid, k in (("short", 5), ("edge", CONTEXT - 1), ("full", CONTEXT), ("long", 200))
        for i in range(2)
    ]
    fit = check_prompts(backend, requests, "hf")
    assert fit.too_long == {("t", "full"): CONTEXT, ("t", "long"): 200}
    assert [fit.fits(r) for r in requests[::2]] == [True, True, False, False]
    backend.close()


def test_a_prompt_too_long_gets_its_own_verdict_and_counts_as_not_correct(
    tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "math.jsonl"
    rows = [("a", "the sea is blue"), ("b", " ".join(["the sun is red"] * 30)), ("c", "one two three")]
    data.write_text("".join(json.dumps({"id": i, "problem": p, "answer": "5"}) + "\n" for i, p in rows))
    config = tmp_path / "c.yaml"
    config.write_text(
        f"model: {{name: tiny, backend: hf, path: {tiny}, device: cpu}}\ngeneration: {{max_new_tokens: 3}}\n"
        f"tasks: [{{name: sample-math, data: {data}}}]\noutput: {tmp_path / 'out'}\n"
    )
    [outcome] = run(load_config(config), progress=False)
    warning = capsys.readouterr().err
    assert (
        "warning: task sample-math: 1 problem(s) have a prompt that does not fit the model's context of "
        in warning
    )
    assert f"{CONTEXT} tokens: b (1" in warning
    assert outcome.score_file is not None
    record = read_score_file(outcome.score_file)
    assert record.counts["prompt_too_long"] == 1 and record.metrics["n_problems"] == 3
    assert record.model["extra"]["context_tokens"] == CONTEXT
    assert record.model["extra"]["prompt_length_check"] == f"checked against a context of {CONTEXT} tokens"
    [row] = [r for r in read_samples(outcome.score_file, record) if r.problem_id == "b"]
    assert (row.verdict, row.correct, row.output_tokens, row.completion) == ("prompt_too_long", False, 0, "")
    assert (
        row.detail
        == f"the prompt does not fit the model's context of {CONTEXT} tokens; nothing was generated"
    )
    # The verdict is journaled: rescoring the finished run needs no model and gives the same file.
    [again] = run(load_config(config), progress=False)
    assert read_score_file(again.score_file).counts == record.counts  # type: ignore[arg-type]


def test_a_backend_that_cannot_count_is_recorded_as_not_checked(tmp_path: Path) -> None:
    replay = write_replay(tmp_path / "r.jsonl", sample_answers(1))
    config = tmp_path / "c.yaml"
    config.write_text(f"model: {{name: r, backend: replay, path: {replay}}}\ntasks: [sample-math]\n")
    [outcome] = run(load_config(config, output=tmp_path / "out"), progress=False)
    extra = read_score_file(outcome.score_file).model["extra"]  # type: ignore[arg-type]
    assert extra["context_tokens"] is None
    assert (
        extra["prompt_length_check"] == "not checked: the replay backend does not report the context length"
    )
