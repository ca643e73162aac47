"""Grading throughput of our code grader against others, on the same solutions, side by side.

    .venv/bin/python benchmarks/bench_code_grader.py [--models o1-mini o1-preview] [--solutions N]
        [--workers N] [--repeats 3] [--graders ours lighteval cold per-test] [--skip ID] [--data DIR]
        [--lighteval-python PATH] [--save-verdicts FILE] [--expect-verdicts FILE]

Workload: the official o1-mini and o1-preview LiveCodeBench submissions for the 400 problems of
release_v1 (800 solutions), graded on the public tests; `--models o1-mini --solutions 200` is the
200-solution set measured before. Throughput is (public tests in the workload) / (wall seconds), the
same numerator for every grader, and every grader gets the same number of processes (`--workers`,
default one per CPU). Compared with:
  (cold) our own grader with a fresh sandboxed runner per solution (HARNESS_WARM_RUNNER=0);
  (per-test) one fresh `python -I` process per test (the naive subprocess grader);
  (lighteval) the LiveCodeBench grader shipped in lighteval 0.13 (`evaluate_generations`, its batch
      entry point, num_process_evaluate = workers), run in benchmarks/.venv-lighteval (create it:
      python -m venv benchmarks/.venv-lighteval
      && benchmarks/.venv-lighteval/bin/pip install lighteval==0.13.0).
Verdicts are compared as pass/fail per solution; the script prints how many agree, and with
--expect-verdicts our verdicts against a list saved by --save-verdicts (e.g. from another checkout).
For our grader each round also prints where the time went: the programs' own CPU time (the
candidate processes) and the floor it sets, max(CPU / cores, the longest solution), the grader's
time per solution beyond the program, and the tail when fewer solutions than workers were left.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.scoring._prelude import PRELUDE
from harness.scoring.code_compare import compare_functional, compare_stdio
from harness.scoring.code_grader import CodeResult
from harness.scoring.code_pool import grade_many
from harness.scoring.warm_runner import WARM_VAR
from harness.tasks import livecodebench
from harness.types import Completion, Problem, Score

HERE = Path(__file__).resolve().parent
LIGHTEVAL_PYTHON = Path(
    os.environ.get("LIGHTEVAL_PYTHON", HERE / ".venv-lighteval" / "bin" / "python")
)  # set from --lighteval-python
DEFAULT_DATA = HERE.parents[1] / "shared" / "data"

# Runs inside the lighteval venv: grade all generations with lighteval's own batch function.
LIGHTEVAL_DRIVER = """
import json, os, sys, time
from lighteval.tasks.tasks.lcb.codegen_metrics import evaluate_generations
job = json.load(open(sys.argv[1]))
start = time.monotonic()
samples, generations = job["samples"], job["generations"]
results = evaluate_generations(samples, generations, num_process_evaluate=job["workers"], timeout=6)
seconds = time.monotonic() - start
passed = [bool(results[i][0]) and all(r is True for r in results[i][0]) for i in range(len(samples))]
json.dump({"seconds": seconds, "passed": passed}, open(sys.argv[2], "w"))
"""

FUNCTIONAL_CALL = """
import json as _json, sys as _sys
_args = [_json.loads(line) for line in _sys.stdin.read().split("\\n") if line.strip()]
_f = getattr(Solution(), {name!r}) if "Solution" in globals() else globals()[{name!r}]
_v = _f(*_args)
_sys.stdout.write(_json.dumps(list(_v) if isinstance(_v, tuple) else _v))
"""


def load_workload(data: Path, models: list[str], count: int | None) -> list[tuple[Problem, str]]:
    """The submissions of `models` for release_v1's 400 problems, in the submissions file's order."""
    lcb = data / "livecodebench"
    release_v1 = {
        json.loads(x)["question_id"]
        for x in (lcb / "original_mavencoder_lcb_release_v1_public_tests.jsonl").open()
    }
    rows = [json.loads(x) for x in (lcb / "lcb_release_v5_problems_no_private_tests.jsonl").open()]
    problems = {p.id: p for p in (livecodebench.to_problem(r, i) for i, r in enumerate(rows)) if p.tests}
    subs = [json.loads(x) for x in (data / "code_solutions" / "lcb_v5_o1_submissions_graded.jsonl").open()]
    chosen = [
        s
        for s in subs
        if any(s["model"].startswith(m) for m in models) and s["question_id"] in release_v1 & problems.keys()
    ]
    return [(problems[s["question_id"]], s["code"]) for s in chosen[:count]]


WORKERS = os.cpu_count() or 1  # set from --workers; every grader gets this many processes


@dataclass
class Breakdown:
    """Where our grader's wall time went in one run (from each solution's CodeResult)."""

    wall: float = 0.0
    program_cpu: float = 0.0  # CPU time of the candidate processes: what the programs themselves need
    longest_cpu: float = 0.0  # one solution's tests run one after another, so it bounds the floor too
    solution_seconds: float = 0.0  # wall time from runner request to verdict, summed over solutions
    tests_run: int = 0
    finished: list[float] = field(default_factory=list)  # when each solution's verdict came
    verdicts: list[str] = field(default_factory=list)

    def report(self, workers: int, cores: int) -> str:
        floor = max(self.program_cpu / min(workers, cores), self.longest_cpu)
        # The tail: the time at the end when fewer solutions than workers were left to run.
        ends = sorted(self.finished)
        tail = self.wall - ends[-workers] if len(ends) >= workers else 0.0
        waiting = self.solution_seconds - self.program_cpu
        return (
            f"    programs' own CPU {self.program_cpu:.1f} s, longest solution {self.longest_cpu:.1f} s -> "
            f"floor {floor:.1f} s on {min(workers, cores)} cores; wall {self.wall:.1f} s = "
            f"{self.wall / floor:.2f}x the floor\n"
            f"    per solution: {1000 * self.solution_seconds / len(ends):.1f} ms in the grader, of which "
            f"{1000 * self.program_cpu / len(ends):.1f} ms the program's CPU; the rest "
            f"({waiting:.1f} s over all, {1000 * waiting / max(self.tests_run, 1):.1f} ms per test run) "
            f"is forks, confinement, frames, comparison and waiting for a CPU\n"
            f"    tail with fewer than {workers} solutions left: {tail:.1f} s; tests run {self.tests_run}"
        )


LAST_BREAKDOWN = Breakdown()


def run_ours(workload: list[tuple[Problem, str]], warm: bool = True) -> tuple[float, list[bool]]:
    global LAST_BREAKDOWN
    jobs = [
        (p, Completion("bench", p.id, i, f"```python\n{c}\n```", 0, "stop"))
        for i, (p, c) in enumerate(workload)
    ]
    previous = os.environ.get(WARM_VAR)
    os.environ[WARM_VAR] = "1" if warm else "0"
    breakdown = Breakdown(verdicts=[""] * len(jobs))

    def on_result(index: int, score: Score, result: CodeResult | None) -> None:
        breakdown.finished.append(time.monotonic() - start)
        breakdown.verdicts[index] = score.verdict.value
        if result is not None:
            breakdown.program_cpu += result.cpu_seconds
            breakdown.longest_cpu = max(breakdown.longest_cpu, result.cpu_seconds)
            breakdown.solution_seconds += result.seconds
            breakdown.tests_run += result.tests_run

    try:
        start = time.monotonic()
        scores = grade_many(jobs, workers=WORKERS, progress=False, on_result=on_result)
        breakdown.wall = time.monotonic() - start
        LAST_BREAKDOWN = breakdown
        return breakdown.wall, [s.correct for s in scores]
    finally:
        if previous is None:
            del os.environ[WARM_VAR]
        else:
            os.environ[WARM_VAR] = previous


def run_ours_cold(workload: list[tuple[Problem, str]]) -> tuple[float, list[bool]]:
    return run_ours(workload, warm=False)


def _one_process_per_test(problem: Problem, code: str) -> bool:
    func_name = problem.meta.get("func_name")
    program = PRELUDE + code + (FUNCTIONAL_CALL.format(name=func_name) if func_name else "")
    with tempfile.TemporaryDirectory() as tmp:
        for test in problem.tests or ():
            try:
                done = subprocess.run(
                    [sys.executable, "-I", "-c", program],
                    input=test["input"],
                    capture_output=True,
                    text=True,
                    timeout=6,
                    cwd=tmp,
                    env={"PATH": "/usr/bin:/bin"},
                    check=False,
                )
            except subprocess.TimeoutExpired:
                return False
            compare = compare_functional if func_name else compare_stdio
            if done.returncode != 0 or compare(done.stdout, test["output"]) is not None:
                return False
    return True


def run_per_test_processes(workload: list[tuple[Problem, str]]) -> tuple[float, list[bool]]:
    start = time.monotonic()
    with ThreadPoolExecutor(WORKERS) as pool:
        passed = list(pool.map(lambda item: _one_process_per_test(*item), workload))
    return time.monotonic() - start, passed


def run_lighteval(workload: list[tuple[Problem, str]]) -> tuple[float, list[bool]] | None:
    if not LIGHTEVAL_PYTHON.exists():
        print(f"lighteval venv not found at {LIGHTEVAL_PYTHON}; see this script's docstring")
        return None
    samples = []
    for problem, _ in workload:
        tests = problem.tests or ()
        io = {
            "inputs": [t["input"] for t in tests],
            "outputs": [t["output"] for t in tests],
            "fn_name": problem.meta.get("func_name"),
        }
        samples.append({"input_output": json.dumps(io)})
    with tempfile.TemporaryDirectory() as tmp:
        job, out = Path(tmp, "job.json"), Path(tmp, "out.json")
        generations = [[code] for _, code in workload]
        job.write_text(json.dumps({"samples": samples, "generations": generations, "workers": WORKERS}))
        subprocess.run(
            [str(LIGHTEVAL_PYTHON), "-c", LIGHTEVAL_DRIVER, str(job), str(out)],
            check=True,
            cwd=tmp,
            capture_output=True,
        )
        result = json.loads(out.read_text())
    return result["seconds"], result["passed"]


GRADERS = {
    "ours": ("ours (warm sandboxed runner per worker)", run_ours),
    "cold": ("ours, fresh sandboxed runner/solution", run_ours_cold),
    "per-test": ("one process per test", run_per_test_processes),
    "lighteval": ("lighteval 0.13 LCB grader", run_lighteval),
}


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min)"


def _compare_verdicts(path: Path, workload: list[tuple[Problem, str]], verdicts: list[str]) -> None:
    """Ours against a saved list (e.g. from the grader before a change): identical, or each difference."""
    saved = json.loads(path.read_text())
    ids = [p.id for p, _ in workload]
    if [row[0] for row in saved] != ids:
        sys.exit(f"{path}: its solutions are not this workload's (same --models/--solutions/--skip?)")
    differ = [(i, ids[i], row[1], verdicts[i]) for i, row in enumerate(saved) if row[1] != verdicts[i]]
    print(f"verdicts identical to {path}: {len(ids) - len(differ)}/{len(ids)}")
    for index, problem_id, before, now in differ:
        print(f"    #{index} {problem_id}: {before} -> {now}")


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", nargs="+", default=["o1-mini", "o1-preview"])
    parser.add_argument("--solutions", type=int, default=None, help="the first N (default: all)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes per grader")
    parser.add_argument("--graders", nargs="+", choices=list(GRADERS), default=["ours", "lighteval"])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--repeats", type=int, default=1, help="rounds over all graders, interleaved; the best time counts"
    )
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        help="leave out this problem id (e.g. one compute-bound outlier)",
    )
    parser.add_argument("--lighteval-python", type=Path, default=LIGHTEVAL_PYTHON)
    parser.add_argument("--save-verdicts", type=Path, help="write our verdicts (JSON) here")
    parser.add_argument(
        "--expect-verdicts", type=Path, help="compare our verdicts with a list saved by --save-verdicts"
    )
    return parser.parse_args()


def main() -> None:
    global WORKERS, LIGHTEVAL_PYTHON
    args = _parse_args()
    WORKERS, LIGHTEVAL_PYTHON = args.workers, args.lighteval_python
    workload = [
        (p, c) for p, c in load_workload(args.data, args.models, args.solutions) if p.id not in args.skip
    ]
    n_tests = sum(len(p.tests or ()) for p, _ in workload)
    cores = os.cpu_count() or 1
    print(
        f"workload: {len(workload)} solutions ({', '.join(args.models)}), {n_tests} public tests, "
        f"{cores} CPUs, {WORKERS} processes per grader"
    )
    best: dict[str, tuple[float, list[bool]]] = {}
    for round_index in range(args.repeats):
        print(f"  round {round_index + 1} ({_load()} before it)", flush=True)
        times = {}
        for key in ["ours", *[g for g in args.graders if g != "ours"]]:
            name, runner = GRADERS[key]
            measured = runner(workload)
            if measured is None:
                continue
            times[key] = measured[0]
            print(f"    {name}: {measured[0]:.1f} s", flush=True)
            if key == "ours":
                print(LAST_BREAKDOWN.report(WORKERS, cores), flush=True)
            if name not in best or measured[0] < best[name][0]:
                best[name] = measured
        ratios = ", ".join(f"{k} {t / times['ours']:.2f}x" for k, t in times.items() if k != "ours")
        if ratios:
            print(f"    this round, their time / ours: {ratios} ({_load()} after it)", flush=True)
    ours_s, ours = best[GRADERS["ours"][0]]
    for name, (seconds, passed) in best.items():
        same = sum(a == b for a, b in zip(ours, passed, strict=True))
        print(
            f"{name:40s}: {seconds:6.1f} s  {n_tests / seconds:7.1f} tests/s  passed {sum(passed)}  "
            f"same verdict as ours {same}/{len(ours)}  ratio ours/them {seconds / ours_s:.2f}x"
        )
    verdicts = LAST_BREAKDOWN.verdicts
    if args.save_verdicts:
        args.save_verdicts.write_text(
            json.dumps([[p.id, v] for (p, _), v in zip(workload, verdicts, strict=True)])
        )
    if args.expect_verdicts:
        _compare_verdicts(args.expect_verdicts, workload, verdicts)


if __name__ == "__main__":
    main()
