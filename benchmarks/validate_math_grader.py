"""Agreement of our math graders with real, independently graded model outputs.

Grades every row of /work/shared/data/graded_outputs/*.jsonl with score_math (and score_gsm8k for
the GSM8K file), prints per file the agreement with the file's own `label_correct` and the
confusion counts, and writes the disagreements to benchmarks/out/math_grader_disagreements.jsonl.

    .venv/bin/python benchmarks/validate_math_grader.py [--data DIR] [--limit N]

This is a measurement, not a test: the labels come from other harnesses with their own rules.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from harness.scoring.math import score_gsm8k, score_math  # noqa: E402
from harness.types import Completion, Problem, Score  # noqa: E402

DEFAULT_DATA = REPO / ".." / "shared" / "data" / "graded_outputs"
OUT = REPO / "benchmarks" / "out" / "math_grader_disagreements.jsonl"
Scorer = Callable[[Problem, Completion], Score]


@dataclass(frozen=True)
class Agreement:
    file: str
    grader: str
    rows: int
    # (label_correct, ours_correct) -> count
    confusion: Counter[tuple[bool, bool]]
    seconds: float

    @property
    def rate(self) -> float:
        agree = self.confusion[(True, True)] + self.confusion[(False, False)]
        return agree / self.rows if self.rows else 0.0


def read_rows(path: Path, limit: int | None = None) -> Iterator[dict]:
    with path.open(encoding="utf-8") as handle:
        for index, line in enumerate(handle):
            if limit is not None and index >= limit:
                return
            yield json.loads(line)


def grade_row(row: dict, scorer: Scorer) -> Score:
    """Grade one graded-output row; the rows are finished generations, so finish_reason is stop."""
    problem = Problem(id=str(row["problem_id"]), prompt=row["problem"], answer=str(row["gold"]))
    completion = Completion(
        task=row.get("model", "graded"),
        problem_id=problem.id,
        sample_index=int(row.get("sample_idx", 0)),
        text=row["model_output"],
        output_tokens=0,
        finish_reason="stop",
    )
    return scorer(problem, completion)


def measure(path: Path, scorer: Scorer, name: str, limit: int | None, sink: list[dict]) -> Agreement:
    confusion: Counter[tuple[bool, bool]] = Counter()
    rows = 0
    start = time.perf_counter()
    for row in read_rows(path, limit):
        score = grade_row(row, scorer)
        label = bool(row["label_correct"])
        confusion[(label, score.correct)] += 1
        rows += 1
        if label != score.correct:
            sink.append(
                {
                    "file": path.name,
                    "grader": name,
                    "problem_id": row["problem_id"],
                    "model": row.get("model"),
                    "gold": row["gold"],
                    "label_correct": label,
                    "verdict": score.verdict.value,
                    "extracted": score.extracted,
                    "harness_pred": row.get("harness_pred"),
                    "output_tail": row["model_output"][-400:],
                }
            )
    return Agreement(path.name, name, rows, confusion, time.perf_counter() - start)


def plan(data: Path) -> list[tuple[Path, Scorer, str]]:
    jobs: list[tuple[Path, Scorer, str]] = []
    for path in sorted(data.glob("*.jsonl")):
        jobs.append((path, score_math, "score_math"))
        if "gsm8k" in path.name:
            jobs.append((path, score_gsm8k, "score_gsm8k"))
    return jobs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of graded_outputs/*.jsonl")
    parser.add_argument("--limit", type=int, default=None, help="grade only the first N rows of each file")
    parser.add_argument("--out", type=Path, default=OUT, help="where to write the disagreements (JSONL)")
    args = parser.parse_args(argv)
    jobs = plan(args.data)
    if not jobs:
        print(f"no *.jsonl files in {args.data}; pass --data with the graded_outputs folder", file=sys.stderr)
        return 2
    disagreements: list[dict] = []
    counts = " ".join(f"{name:>5}" for name in ("TT", "TF", "FT", "FF"))
    print(f"{'file':55} {'grader':12} {'rows':>5} {'agree':>7}  {counts} {'s':>6}")
    print("(TF = labelled correct, we say wrong; FT = labelled wrong, we say correct)")
    for path, scorer, name in jobs:
        result = measure(path, scorer, name, args.limit, disagreements)
        c = result.confusion
        print(
            f"{result.file:55} {result.grader:12} {result.rows:5d} {result.rate:7.2%}  "
            f"{c[(True, True)]:5d} {c[(True, False)]:5d} {c[(False, True)]:5d} {c[(False, False)]:5d} "
            f"{result.seconds:6.1f}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as handle:
        for item in disagreements:
            handle.write(json.dumps(item, ensure_ascii=False) + "\n")
    print(f"{len(disagreements)} disagreements written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
