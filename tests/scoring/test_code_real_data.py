"""The grader on real benchmark data: reference solutions pass, and LCB labels are reproduced."""

from __future__ import annotations

import json
from pathlib import Path

from harness.scoring.code_pool import grade_many
from harness.tasks import humaneval, livecodebench, mbpp
from harness.types import Completion, Verdict


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def fenced(problem_id: str, code: str, index: int = 0) -> Completion:
    return Completion("real", problem_id, index, f"```python\n{code}\n```", 0, "stop")


def test_humaneval_canonical_solutions_all_pass(shared_data: Path) -> None:
    jobs = []
    for i, row in enumerate(read_jsonl(shared_data / "humaneval.jsonl")):
        problem = humaneval.to_problem(row, i)
        jobs.append((problem, fenced(problem.id, row["prompt"] + row["canonical_solution"])))
    scores = grade_many(jobs, progress=False)
    assert [s.problem_id for s in scores if not s.correct] == []
    assert len(scores) == 164
    assert [s.problem_id for s in scores if s.tampering] == []  # static and runtime evidence alike


def test_mbpp_reference_solutions_sample(shared_data: Path) -> None:
    rows = read_jsonl(shared_data / "mbpp_full_deepseek.jsonl")[:100]
    jobs = [(mbpp.to_problem(r, i), fenced(str(r["task_id"]), r["code"])) for i, r in enumerate(rows)]
    scores = grade_many(jobs, progress=False)
    assert [s.problem_id for s in scores if not s.correct] == []
    assert [s.problem_id for s in scores if s.tampering] == []


def test_lcb_o1_labelled_correct_solutions_pass_public_tests(shared_data: Path) -> None:
    rows = read_jsonl(shared_data / "livecodebench" / "lcb_release_v5_problems_no_private_tests.jsonl")
    problems = {p.id: p for p in (livecodebench.to_problem(r, i) for i, r in enumerate(rows)) if p.tests}
    subs = read_jsonl(shared_data / "code_solutions" / "lcb_v5_o1_submissions_graded.jsonl")
    chosen = [s for s in subs if s["question_id"] in problems and s["model"].startswith("o1-mini")][:60]
    scores = grade_many(
        [(problems[s["question_id"]], fenced(s["question_id"], s["code"], i)) for i, s in enumerate(chosen)],
        progress=False,
    )
    verdicts = [score.verdict for score in scores]
    assert [score.problem_id for score in scores if score.tampering] == []
    for sub, verdict in zip(chosen, verdicts, strict=True):
        if sub["label_correct"]:
            assert verdict == Verdict.PASSED, sub["question_id"]
    # LCB's "wrong answer on a public test" labels must be reproduced as failures.
    public_failures = [
        v
        for s, v in zip(chosen, verdicts, strict=True)
        if not s["label_correct"]
        and json.loads(s["lcb_eval_metadata"]).get("error_code") == -2
        and json.loads(s["lcb_eval_metadata"]).get("inputs")
        in [t["input"] for t in problems[s["question_id"]].tests or ()]
    ]
    assert public_failures and all(v != Verdict.PASSED for v in public_failures)
