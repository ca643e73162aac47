"""Check the code grader on real data: reference solutions must pass, and LCB's own labels must agree.

    .venv/bin/python benchmarks/validate_code_grader.py [--data ../shared/data]
        [--part lcb|humaneval|mbpp|all] [--float-compare exact_decimal|tolerance]
        [--threads join|exit_with_main]

LiveCodeBench: the official o1-mini/o1-preview submissions for the 400 release_v1 problems are graded on
the public tests (the hidden tests are not available), and each verdict is compared with the label LCB
gave on the full tests. Passing public tests while labelled incorrect is expected (hidden tests catch
more); failing public tests while labelled correct is a disagreement worth reading.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.scoring import code_grader
from harness.scoring.code_pool import grade_many
from harness.tasks import humaneval, livecodebench, mbpp
from harness.types import Completion, Problem, Score

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def as_completion(problem: Problem, code: str, index: int = 0) -> Completion:
    return Completion("validate", problem.id, index, f"```python\n{code}\n```", 0, "stop")


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def validate_lcb(data: Path) -> None:
    rows = read_jsonl(data / "livecodebench" / "lcb_release_v5_problems_no_private_tests.jsonl")
    problems = {p.id: p for p in (livecodebench.to_problem(r, i) for i, r in enumerate(rows)) if p.tests}
    subs = [s for s in read_jsonl(data / "code_solutions" / "lcb_v5_o1_submissions_graded.jsonl")]
    subs = [s for s in subs if s["question_id"] in problems]
    jobs = [
        (problems[s["question_id"]], as_completion(problems[s["question_id"]], s["code"], i))
        for i, s in enumerate(subs)
    ]
    start = time.monotonic()
    scores = grade_many(jobs, progress=False)
    seconds = time.monotonic() - start
    table: Counter[tuple[bool, bool]] = Counter()
    verdicts: Counter[str] = Counter()
    disagreements = []
    for sub, score in zip(subs, scores, strict=True):
        label, ours = bool(sub["label_correct"]), score.correct
        table[(label, ours)] += 1
        verdicts[score.verdict.value] += 1
        if label and not ours:
            disagreements.append((sub["question_id"], sub["model"], score.verdict.value, score.detail))
    agree = table[(True, True)] + table[(False, False)]
    print(
        f"LCB release_v1 public tests: {len(subs)} o1 submissions on {len(problems)} problems "
        f"in {seconds:.1f} s"
    )
    print(f"  agreement with LCB label_correct: {agree}/{len(subs)}")
    print(
        f"  label correct & ours passed: {table[(True, True)]}   "
        f"label incorrect & ours failed: {table[(False, False)]}"
    )
    print(f"  label incorrect & ours passed (hidden tests fail them): {table[(False, True)]}")
    print(f"  label correct & ours failed (real disagreements): {table[(True, False)]}")
    print(f"  our verdicts: {dict(verdicts)}")
    for qid, model, verdict, detail in disagreements:
        print(f"    {qid} {model}: {verdict}: {(detail or '')[:160]}")
    correct = [score for sub, score in zip(subs, scores, strict=True) if sub["label_correct"]]
    report_flags(f"  tampering flags on the {len(correct)} labelled-correct submissions", correct)
    report_flags(f"  tampering flags on all {len(scores)} submissions", scores)


def report_flags(title: str, scores: list[Score]) -> None:
    """Which samples earned tampering flags (reference solutions should earn none)."""
    flagged = [s for s in scores if s.tampering]
    counts = Counter(flag for s in flagged for flag in s.tampering)
    print(f"{title}: {len(flagged)} flagged {dict(counts)}")
    for score in flagged[:20]:
        print(f"    {score.problem_id}: {', '.join(score.tampering)}")


def validate_humaneval(data: Path) -> None:
    rows = read_jsonl(data / "humaneval.jsonl")
    jobs = []
    for i, row in enumerate(rows):
        problem = humaneval.to_problem(row, i)
        jobs.append((problem, as_completion(problem, row["prompt"] + row["canonical_solution"])))
    start = time.monotonic()
    scores = grade_many(jobs, progress=False)
    seconds = time.monotonic() - start
    failed = [(s.problem_id, s.verdict.value, s.detail) for s in scores if not s.correct]
    print(
        f"HumanEval canonical solutions: {len(scores) - len(failed)}/{len(scores)} passed in {seconds:.1f} s"
    )
    for item in failed:
        print("   ", *item)
    report_flags("  tampering flags", scores)


def validate_mbpp(data: Path) -> None:
    rows = read_jsonl(data / "mbpp_full_deepseek.jsonl")
    jobs = []
    for i, row in enumerate(rows):
        problem = mbpp.to_problem(row, i)
        jobs.append((problem, as_completion(problem, row["code"])))
    start = time.monotonic()
    scores = grade_many(jobs, progress=False)
    seconds = time.monotonic() - start
    failed = [(s.problem_id, s.verdict.value, (s.detail or "")[:160]) for s in scores if not s.correct]
    print(f"MBPP reference solutions: {len(scores) - len(failed)}/{len(scores)} passed in {seconds:.1f} s")
    for item in failed:
        print("   ", *item)
    report_flags("  tampering flags", scores)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--part", choices=["lcb", "humaneval", "mbpp", "all"], default="all")
    parser.add_argument("--float-compare", choices=["exact_decimal", "tolerance"], default="exact_decimal")
    parser.add_argument("--threads", choices=["exit_with_main", "join"], default="join")
    args = parser.parse_args()
    if not args.data.is_dir():
        sys.exit(f"benchmark data folder {args.data} not found; pass --data")
    code_grader.DEFAULT_FLOAT_COMPARE = args.float_compare
    code_grader.DEFAULT_THREADS = args.threads
    print(f"grader settings: {code_grader.grader_settings()}")
    if args.part in ("humaneval", "all"):
        validate_humaneval(args.data)
    if args.part in ("mbpp", "all"):
        validate_mbpp(args.data)
    if args.part in ("lcb", "all"):
        validate_lcb(args.data)


if __name__ == "__main__":
    main()
