"""`harness reproduce`: the config it writes for a reference row, and the rows it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.cli import main
from harness.config import load_config

SHIPPED = Path(__file__).resolve().parents[2] / "results" / "reference_rows.yaml"
R1_TEMPLATE = "{problem}\nPlease reason step by step, and put your final answer within \\boxed{}."


def test_the_config_states_exactly_the_reported_protocol(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "reproduce",
            "r1-distill-qwen-7b-aime24-pass1",
            "--model",
            "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B",
            "--backend",
            "vllm",
            "--reference",
            str(SHIPPED),
            "--config-only",
            "--output",
            str(tmp_path),
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert text.startswith(
        "# Reproduces reference r1-distill-qwen-7b-aime24-pass1: DeepSeek-R1-Distill-Qwen-7B"
    )
    config_file = tmp_path / "r.yaml"
    config_file.write_text(text, encoding="utf-8")
    config = load_config(config_file)
    assert (config.model.backend, config.model.path) == ("vllm", "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B")
    [task] = config.tasks
    assert task.name == "aime24" and task.prompt_template == R1_TEMPLATE and task.system_prompt is None
    sampling = yaml.safe_load(text)["generation"]
    assert sampling == {"temperature": 0.6, "top_p": 0.95, "max_new_tokens": 32768, "n": 64}


def test_rows_without_a_stated_protocol_or_id_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reproduce", "v3-aime24-pass1", "--model", "m", "--reference", str(SHIPPED)]) == 2
    assert "its source states no protocol" in capsys.readouterr().err
    assert main(["reproduce", "no-such-row", "--model", "m", "--reference", str(SHIPPED)]) == 2
    assert "no reference with id 'no-such-row'; ids: r1-aime24-pass1, " in capsys.readouterr().err
