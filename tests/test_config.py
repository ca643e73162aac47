from __future__ import annotations

from pathlib import Path

import pytest

from harness.config import ConfigError, apply_override, load_config

REPO = Path(__file__).resolve().parents[1]

GOOD = """
model:
  name: tiny
  backend: replay
  path: completions.jsonl
generation: {temperature: 0.6, top_p: 0.95, n: 4, max_new_tokens: 64, stop: "###"}
tasks:
  - sample-math
  - {name: math500, data: data/math500.jsonl, limit: 5, n: 2}
output: out/
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_valid_config_is_parsed_with_task_overrides(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert config.model.backend == "replay"
    assert config.generation == {
        "temperature": 0.6,
        "top_p": 0.95,
        "n": 4,
        "max_new_tokens": 64,
        "stop": ["###"],
    }
    assert [t.name for t in config.tasks] == ["sample-math", "math500"]
    assert config.tasks[1].limit == 5
    assert config.tasks[1].generation == {"n": 2}
    assert config.tasks[1].data == Path("data/math500.jsonl")
    assert config.output == Path("out/")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("model: {name: a, backend: hf, path: p}\ntasks: [x]\nbogus: 1\n", "config.yaml: bogus: unknown key"),
        ("model: {name: a, backend: nope, path: p}\ntasks: [x]\n", "model.backend: unknown backend 'nope'"),
        ("model: {name: a, backend: hf, path: p, colour: red}\ntasks: [x]\n", "model.colour: unknown key"),
        ("model: {name: a, backend: hf}\ntasks: [x]\n", "model.path: missing"),
        ("model: {name: a, backend: hf, path: p}\ntasks: []\n", "tasks: expected a non-empty list"),
        ("model: {name: a, backend: hf, path: p}\ntasks: [{name: x, limit: abc}]\n", "tasks[0].limit"),
        ("model: {name: a, backend: hf, path: p}\ngeneration: {n: 0}\ntasks: [x]\n", "generation.n"),
        (
            "model: {name: a, backend: hf, path: p}\ngeneration: {temperature: hot}\ntasks: [x]\n",
            "generation.temperature: expected a number",
        ),
        (
            "model: {name: a, backend: hf, path: p}\ngeneration: {top_p: 1.5}\ntasks: [x]\n",
            "generation.top_p",
        ),
        ("model: {name: a, backend: hf, path: p, batch_size: 0}\ntasks: [x]\n", "model.batch_size"),
        ("model: {name: a, backend: hf, path: p, dtype: int3}\ntasks: [x]\n", "model.dtype"),
        ("model: [1, 2]\ntasks: [x]\n", "model: expected a mapping"),
        (
            "model: {name: a, backend: hf, path: p}\ntasks: [{name: x, prompt_template: 'no slot'}]\n",
            "tasks[0].prompt_template: must contain {problem}",
        ),
        ("- just\n- a list\n", "expected a mapping"),
        ("model: {name: a\n", "not valid YAML"),
    ],
)
def test_bad_configs_name_the_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text))
    assert message in str(err.value)
    assert "config.yaml" in str(err.value) or message.startswith("--")


def test_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "absent.yaml")


def test_overrides_set_nested_values_and_list_items(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path, GOOD), overrides=["generation.n=8", "tasks.0.limit=3", "model.options.concurrency=2"]
    )
    assert config.generation["n"] == 8
    assert config.tasks[0].name == "sample-math" and config.tasks[0].limit == 3
    assert config.model.options == {"concurrency": 2}


def test_override_errors_are_clear() -> None:
    raw = {"tasks": ["a"]}
    with pytest.raises(ConfigError, match=r"expected key\.path=value"):
        apply_override(raw, "tasks", "x")
    with pytest.raises(ConfigError, match="not an index of a list of 1"):
        apply_override(raw, "tasks.5.limit=1", "x")


def test_limit_and_output_flags_override_every_task(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD), limit=3, output=tmp_path / "elsewhere")
    assert [t.limit for t in config.tasks] == [3, 3]
    assert config.output == tmp_path / "elsewhere"


@pytest.mark.parametrize("name", sorted(p.name for p in (REPO / "configs").glob("*.yaml")))
def test_shipped_configs_are_valid(name: str) -> None:
    config = load_config(REPO / "configs" / name)
    assert config.tasks


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("generation: {temperature: .nan}", "generation.temperature: nan is out of range; expected a finite"),
        ("generation: {temperature: .inf}", "generation.temperature: inf is out of range; expected a finite"),
        ("generation: {temperature: -0.5}", "generation.temperature: -0.5 is out of range; expected a"),
        ("generation: {top_p: 1.5}", "generation.top_p: 1.5 is out of range; expected a number in (0, 1]"),
        ("generation: {top_p: .nan}", "generation.top_p: nan is out of range; expected a number in (0, 1]"),
        ("generation: {max_new_tokens: .inf}", "generation.max_new_tokens: expected an integer ≥ 1, got inf"),
    ],
)
def test_numbers_must_be_finite_and_in_the_stated_range(tmp_path: Path, setting: str, message: str) -> None:
    text = f"model: {{name: a, backend: hf, path: p}}\n{setting}\ntasks: [x]\n"
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text))
    assert message in str(err.value)


def test_non_finite_backend_and_task_options_are_refused(tmp_path: Path) -> None:
    text = "model: {name: a, backend: openai, path: p, options: {timeout_s: .nan}}\ntasks: [x]\n"
    with pytest.raises(ConfigError, match=r"model\.options\.timeout_s: nan is not a finite number"):
        load_config(write(tmp_path, text))
    text = "model: {name: a, backend: hf, path: p}\ntasks: [{name: x, weights: [1, -.inf]}]\n"
    with pytest.raises(ConfigError, match=r"tasks\[0\]\.weights\[1\]: -inf is not a finite number"):
        load_config(write(tmp_path, text))
    with pytest.raises(ConfigError, match=r"generation\.temperature: nan is out of range"):
        load_config(write(tmp_path, GOOD), overrides=["generation.temperature=.nan"])
