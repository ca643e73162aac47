"""Reported figures: the shipped file, the loader's errors, and how the leaderboard shows them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.reporting.reference_rows import ReferenceRowsError, load_reference_rows
from tests.reporting.score_files import write_result

SHIPPED = Path(__file__).resolve().parents[2] / "results" / "reference_rows.yaml"

M = "metric: pass@1"
GOOD = """references:
  - model: Some-Model
    benchmark: AIME 2024
    metric: pass@1
    value: 42.5
    source: {title: A paper, url: "arXiv:2501.12948", where: Table 1}
"""


def test_shipped_figures_are_the_published_ones() -> None:
    rows = {(r.model, r.benchmark, r.metric): r for r in load_reference_rows(SHIPPED)}
    expected = {
        ("DeepSeek-V3-0324", "AIME 2024", "pass@1"): 59.4,
        ("DeepSeek-V3", "AIME 2024", "pass@1"): 39.6,
        ("DeepSeek-V3-0324", "LiveCodeBench", "pass@1"): 49.2,
        ("DeepSeek-V3", "LiveCodeBench", "pass@1"): 39.2,
        ("DeepSeek-R1", "AIME 2024", "pass@1"): 79.8,
        ("DeepSeek-R1", "LiveCodeBench", "pass@1"): 65.9,
    }
    distilled = {"Qwen-1.5B": (28.9, 52.7), "Qwen-7B": (55.5, 83.3), "Qwen-14B": (69.7, 80.0),
                 "Qwen-32B": (72.6, 83.3), "Llama-8B": (50.4, 80.0), "Llama-70B": (70.0, 86.7)}  # fmt: skip
    for name, (pass1, cons64) in distilled.items():
        expected[(f"DeepSeek-R1-Distill-{name}", "AIME 2024", "pass@1")] = pass1
        expected[(f"DeepSeek-R1-Distill-{name}", "AIME 2024", "cons@64")] = cons64
    assert {key: row.value for key, row in rows.items()} == expected
    for key, row in rows.items():
        paper = key[0].startswith("DeepSeek-R1")
        assert row.source_url == ("https://arxiv.org/abs/2501.12948" if paper else
                                  "https://huggingface.co/deepseek-ai/DeepSeek-V3-0324")  # fmt: skip
        assert row.source_where, key


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("value: 42.5", "value: 142.5"), r"references\[0\] \(Some-Model / AIME 2024\): 'value' must"),
        (("value: 42.5", "value: '42.5'"), r"'value' must be a percentage between 0 and 100, got '42.5'"),
        (("    source: {title: A paper, url: \"arXiv:2501.12948\", where: Table 1}\n", ""),
         r"references\[0\]: missing source; every figure needs a source"),
        (("url: \"arXiv:2501.12948\"", "url: x"), r"'url' must start with https://, http:// or arXiv:"),
        (("metric: pass@1", "metric: pass@1\n    score: 3"), r"unknown keys \['score'\]"),
        (("references:", "rows:"), r"expected a top-level 'references:' list"),
        (("title: A paper", "title: [unclosed"), r"is not valid YAML"),
        ((M, M + "\n    id: Some Id"), r"'id' 'Some Id' must be lower case letters"),
        ((M, M + "\n    protocol: {n: 4}"), r"\.protocol: 'stated_in' must be non-empty"),
        ((M, M + "\n    protocol: {n: 4.5, stated_in: x}"), r"'n' must be a whole number ≥ 0, got 4.5"),
        ((M, M + "\n    protocol: {seed: 1, stated_in: x}"), r"unknown keys \['seed'\]"),
        ((M, M + "\n    protocol: {prompt_template: 'Q', stated_in: x}"), r"'prompt_template' must contain"),
    ],
)  # fmt: skip
def test_loader_names_the_file_and_the_entry(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    path = tmp_path / "refs.yaml"
    path.write_text(GOOD.replace(*change))
    with pytest.raises(ReferenceRowsError, match=message) as info:
        load_reference_rows(path)
    assert str(info.value).startswith(str(path))


def test_ids_are_stable_unique_and_protocols_say_only_what_is_stated(tmp_path: Path) -> None:
    shipped = {row.id: row for row in load_reference_rows(SHIPPED)}
    assert len(shipped) == 18 and "r1-distill-qwen-7b-aime24-cons64" in shipped
    # The V3 figures come from a chart that states no protocol; the R1 paper's figures have one.
    assert shipped["v3-0324-aime24-pass1"].protocol is None
    r1 = shipped["r1-distill-llama-70b-aime24-pass1"].protocol
    assert r1 is not None and (r1.temperature, r1.top_p, r1.max_new_tokens, r1.n) == (0.6, 0.95, 32768, 64)
    assert r1.system_prompt is None and "system_prompt" in r1.stated  # "no system prompt" is stated
    lcb = shipped["r1-lcb-pass1"].protocol
    assert lcb is not None and lcb.prompt_template is None and "prompt_template" not in lcb.stated
    assert dict(lcb.task_options) == {"start_date": "2024-08-01", "end_date": "2025-01-31"}
    path = tmp_path / "refs.yaml"
    path.write_text(GOOD)
    [row] = load_reference_rows(path)
    assert row.id == "some-model-aime-2024-pass-1"  # without an id: model, task or benchmark, metric
    twice = GOOD + GOOD.removeprefix("references:\n").replace("pass@1", "cons@8")
    path.write_text(
        twice.replace("metric: pass@1", "metric: pass@1\n    id: x").replace(
            "metric: cons@8", "metric: cons@8\n    id: x"
        )
    )
    with pytest.raises(ReferenceRowsError, match=r"references\[1\] repeats the id 'x'; ids must be unique"):
        load_reference_rows(path)


def test_repeated_figure_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "refs.yaml"
    path.write_text(GOOD + GOOD.removeprefix("references:\n"))
    with pytest.raises(ReferenceRowsError, match=r"references\[1\] repeats Some-Model / AIME 2024 / pass@1"):
        load_reference_rows(path)


def harness(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_leaderboard_command_shows_references_apart_and_by_default(tmp_path: Path) -> None:
    results = tmp_path / "results"
    write_result(results, "measured-model", [[True], [False]])
    extra = tmp_path / "extra.yaml"
    extra.write_text(GOOD)
    done = harness("leaderboard", str(results), "--reference", str(extra), "--format", "md,json")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in results.glob("leaderboard.*")) == ["leaderboard.json", "leaderboard.md"]
    board = json.loads((results / "leaderboard.json").read_text())
    assert [r["model"] for r in board["rows"]] == ["measured-model"]
    assert [r["model"] for r in board["reported"]] == ["Some-Model"]
    assert "## Reported figures (reported, not measured)" in done.stdout
    # A reference_rows.yaml inside the results folder is read without asking, unless --no-reference.
    (results / "reference_rows.yaml").write_text(SHIPPED.read_text())
    done = harness("leaderboard", str(results))
    assert done.returncode == 0, done.stderr
    assert sorted(p.suffix for p in results.glob("leaderboard.*")) == [".csv", ".html", ".json", ".md"]
    assert "| DeepSeek-R1 | AIME 2024 | pass@1 | 79.8 |" in done.stdout
    done = harness("leaderboard", str(results), "--no-reference", "--format", "md")
    assert "Reported figures" not in done.stdout
    broken = tmp_path / "broken.yaml"
    broken.write_text(GOOD.replace("value: 42.5", "value: lots"))
    done = harness("leaderboard", str(results), "--reference", str(broken))
    assert done.returncode == 2 and "broken.yaml: references[0]" in done.stderr
    done = harness("leaderboard", str(results), "--format", "md,pdf")
    assert done.returncode == 2 and "choose one or more of md,csv,html,json" in done.stderr
