"""The built-in math tasks read the real benchmark files with the ids and answers the issue names."""

from __future__ import annotations

from pathlib import Path

from harness.data import load_problems
from harness.registry import discover


def test_aime24_from_shared_data(shared_data: Path) -> None:
    loaded = load_problems(discover().get("aime24"), shared_data / "aime24.jsonl")
    ids = [p.id for p in loaded.problems]
    assert len(ids) == 30 and ids[0] == "2024-I-1" and ids[-1] == "2024-II-15"
    assert loaded.problems[0].answer == "204"


def test_aime_ids_from_hub_style_rows() -> None:
    spec = discover().get("aime24")
    url = "https://artofproblemsolving.com/wiki/index.php/2024_AIME_II_Problems/Problem_7"
    problem = spec.to_problem({"id": 66, "problem": "P", "answer": "025", "url": url}, 0)
    assert problem.id == "2024-II-7"
    assert spec.to_problem({"problem_idx": 4, "problem": "P", "answer": 17}, 3).id == "4"


def test_aime25_math500_gsm8k_from_shared_data(shared_data: Path) -> None:
    registry = discover()
    aime25 = load_problems(registry.get("aime25"), shared_data / "aime25.jsonl")
    assert aime25.problems[0].id == "2025-I-1" and len(aime25.problems) == 30
    math500 = load_problems(registry.get("math500"), shared_data / "math500.jsonl")
    assert len(math500.problems) == 500
    assert math500.problems[0].id.startswith("test/") and math500.problems[0].meta["level"] in range(1, 6)
    gsm8k = load_problems(registry.get("gsm8k"), shared_data / "gsm8k_test.jsonl")
    assert len(gsm8k.problems) == 1319 and gsm8k.problems[0].id == "0"
    assert all("," not in p.answer for p in gsm8k.problems)


def test_gsm8k_hub_rows_take_the_answer_after_hashes() -> None:
    spec = discover().get("gsm8k")
    problem = spec.to_problem({"question": "Q?", "answer": "work <<1+1=2>>\n#### 1,234"}, 7)
    assert problem.id == "7" and problem.answer == "1234"
