"""Grade the hostile corpus (tests/scoring/hostile_programs.py) with whichever harness is importable.

    .venv/bin/python benchmarks/hostile_corpus.py
    cd ../other-checkout && .venv/bin/python /path/to/benchmarks/hostile_corpus.py   # "before"

Prints, per program, the verdict it must get and the verdict (and tampering flags, where the harness
records them) it got, or the exception that escaped the grader. Run against an older checkout it shows
what that version did with each program; the corpus file needs only `harness.types`.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from harness.scoring import code_grader
from harness.types import Completion

CORPUS_FILE = Path(__file__).resolve().parents[1] / "tests" / "scoring" / "hostile_programs.py"


def load_corpus():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("hostile_programs", CORPUS_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def grade_one(corpus, program) -> tuple[str, str, float]:  # type: ignore[no-untyped-def]
    problem = corpus.problem_for(program)
    limits = code_grader.SandboxLimits(per_test_timeout_s=1.5, memory_mb=512)
    start = time.monotonic()
    try:
        if "limits" in inspect.signature(code_grader.score_result).parameters:
            completion = Completion("hostile", problem.id, 0, f"```python\n{program.code}\n```", 0, "stop")
            score, _ = code_grader.score_result(problem, completion, limits)
            return score.verdict.value, ",".join(score.tampering), time.monotonic() - start
        result = code_grader.grade_problem(problem, program.code, limits)
        return result.verdict.value, "-", time.monotonic() - start
    except BaseException as exc:  # what escaped the grader (and used to end a whole run)
        return f"CRASH {type(exc).__name__}", "-", time.monotonic() - start


def main() -> None:
    corpus = load_corpus()
    with ThreadPoolExecutor(3) as pool:
        outcomes = list(pool.map(lambda p: grade_one(corpus, p), corpus.CORPUS))
    print(f"{'program':38s} {'must get':14s} {'got':22s} {'seconds':>7s}  flags")
    for program, (verdict, flags, seconds) in zip(corpus.CORPUS, outcomes, strict=True):
        mark = " " if verdict == program.verdict else "!"
        print(f"{program.name:38s} {program.verdict:14s} {mark}{verdict:21s} {seconds:7.1f}  {flags}")
    right = sum(v == p.verdict for p, (v, _, _) in zip(corpus.CORPUS, outcomes, strict=True))
    print(f"{right}/{len(corpus.CORPUS)} programs got the verdict they must get")


if __name__ == "__main__":
    main()
