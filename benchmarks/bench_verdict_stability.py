"""Verdicts that do not depend on the machine's load (CPU-time limits), measured on real submissions.

    .venv/bin/python benchmarks/bench_verdict_stability.py [--runs 5] [--busy 1] [--workers N]
        [--models o1-mini o1-preview] [--data ../shared/data]

The 800 official o1 submissions for LiveCodeBench release_v1 are graded on the public tests once on
an otherwise idle harness (the "quiet" run), then `--runs` more times, each while `--busy` busy-loop
processes occupy CPUs. Every verdict of every loaded run is compared with the quiet run's; a
difference is a flip. With wall-clock limits a program near its limit flips when the other core is
busy (abc311_e did, 1 run in 3); with CPU-time limits it must not.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_code_grader import DEFAULT_DATA, load_workload

from harness.scoring.code_pool import grade_many
from harness.types import Completion, Score

BUSY_LOOP = "while True:\n    pass\n"


def grade(workload: list, workers: int) -> tuple[float, list[Score]]:
    jobs = [
        (problem, Completion("stability", problem.id, i, f"```python\n{code}\n```", 0, "stop"))
        for i, (problem, code) in enumerate(workload)
    ]
    start = time.monotonic()
    scores = grade_many(jobs, workers=workers, progress=False)
    return time.monotonic() - start, scores


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--busy", type=int, default=1, help="busy-loop processes during each loaded run")
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 1) + 1)
    parser.add_argument("--models", nargs="+", default=["o1-mini", "o1-preview"])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    workload = load_workload(args.data, args.models, None)
    print(f"{len(workload)} submissions, {args.workers} grading workers, {os.cpu_count()} CPUs")
    seconds, quiet = grade(workload, args.workers)
    print(f"quiet run: {seconds:.1f} s, {sum(s.correct for s in quiet)} passed")
    total_flips = 0
    for run in range(1, args.runs + 1):
        busy = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(args.busy)]
        try:
            seconds, loaded = grade(workload, args.workers)
        finally:
            for process in busy:
                process.kill()
                process.wait()
        flips = [(a, b) for a, b in zip(quiet, loaded, strict=True) if a.verdict != b.verdict]
        total_flips += len(flips)
        print(
            f"run {run} with {args.busy} busy loop(s): {seconds:.1f} s, "
            f"{len(flips)} verdicts differ from quiet"
        )
        for before, after in flips:
            print(
                f"    {before.problem_id}#{before.sample_index}: {before.verdict.value} -> "
                f"{after.verdict.value} ({(after.detail or '')[:120]})"
            )
    print(f"flips: {total_flips} in {args.runs} x {len(workload)} verdicts")


if __name__ == "__main__":
    main()
