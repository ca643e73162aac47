"""The GPU check script in its CPU dry mode: bundle preparation, the throwaway install, every phase.

CUDA and NVML are the only paths this cannot run; the NVML meter is covered by tests/cost with a
fake NVML. The model is built from the bundle's config with one layer, so each phase takes seconds.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SMALL = ["--model-source", "config", "--layers", "1", "--prompts", "2", "--batch-size", "2"]
SMALL += ["--batch-sizes", "1,2", "--max-new-tokens", "4", "--price-per-device-hour", "3.6"]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bundle")
    command = [
        sys.executable,
        "benchmarks/gpu_check.py",
        "prepare",
        "--bundle",
        str(folder),
        "--wheels",
        "none",
    ]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return folder


@pytest.mark.slow
def test_prepare_carries_config_and_tokenizer_but_no_weights(bundle: Path) -> None:
    files = sorted(p.name for p in (bundle / "model").iterdir())
    assert "config.json" in files and "tokenizer.json" in files
    assert not [name for name in files if name.endswith((".safetensors", ".bin", ".gguf"))]
    config = json.loads((bundle / "model" / "config.json").read_text())
    assert (config["model_type"], config["hidden_size"], config["num_hidden_layers"]) == ("llama", 576, 30)


@pytest.mark.slow
def test_dry_run_installs_the_harness_and_runs_every_phase(bundle: Path) -> None:
    env = {**os.environ, "GPU_CHECK_BUNDLE": str(bundle), "PYTHON": sys.executable}
    command = ["bash", "benchmarks/gpu_check.sh", "--cpu", *SMALL]
    done = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    out = done.stdout
    assert done.returncode == 0, out[-3000:] + done.stderr[-3000:]
    assert "device: CPU (dry mode: no CUDA, no NVML)" in out
    harness_line = next(line for line in out.splitlines() if line.startswith("harness: "))
    assert "/venv/" in harness_line and str(REPO) not in harness_line  # the installed copy, not the checkout
    assert "random weights, 1 layers" in out
    assert "plain transformers loop: 8 tokens in" in out and "ratio harness/plain" in out
    assert "batch    1: 2 prompts, 8 tokens" in out and "batch    2: 4 prompts, 16 tokens" in out
    if importlib.util.find_spec("vllm") is None:
        assert "vllm backend vs raw vLLM: skipped (vLLM is not installed here)" in out
    block = json.loads(out[out.index("{", out.index("cost block")) : out.rindex("}") + 1])
    assert block["energy_kind"] in ("estimated", "measured")
    assert block["energy_joules"] > 0
    assert block["per_problem"]["count"] == 2
    assert block["money"] == pytest.approx(3.6 * block["energy_seconds"] / 3600, abs=2e-5)
    assert block["per_problem"]["generated_tokens"] == 40 / 2  # 16 in the comparison, 8 + 16 in the sweep
    assert out.rstrip().splitlines()[-1].startswith("gpu check done in")
