"""LiveCodeBench-style code grading: run a solution's tests in the sandbox and name the verdict.

All tests of one solution run in one sandboxed runner (a fresh fork per test inside it), and the
harness compares every output itself, stopping at the first failing test as LiveCodeBench does.
A solution for which no test ran is never "passed". Runner failures before the solution could run
are infrastructure errors: retried once and reported apart from model errors.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from harness.scoring.code_compare import FloatCompare, compare_functional, compare_stdio, extract_code
from harness.scoring.sandbox import FrameChannel, RunnerLost, SandboxLimits, sandbox_mode
from harness.scoring.warm_runner import open_runner
from harness.types import Completion, Grader, Problem, Score, Verdict

GRADER_VERSION = "1"
DEFAULT_LIMITS = SandboxLimits()
DEFAULT_FLOAT_COMPARE: FloatCompare = "exact_decimal"  # what published LCB numbers use
# "join": wait for a program's non-daemon threads, as a contest judge (and a normal interpreter exit)
# does. "exit_with_main": end when the main body returns, losing what threads print later, which is what
# LCB's in-process grader does (71 of 800 o1 release_v1 submissions lose their output there); it races
# with the threads, so verdicts can vary between runs. See benchmarks/README.md.
ThreadPolicy = Literal["exit_with_main", "join"]
DEFAULT_THREADS: ThreadPolicy = "join"

_RUNNER_STATUS = {
    "timeout": Verdict.TIMEOUT,
    "runtime_error": Verdict.RUNTIME_ERROR,
    "memory_limit": Verdict.MEMORY_LIMIT,
    "output_limit": Verdict.RUNTIME_ERROR,
}


@dataclass(frozen=True)
class CodeResult:
    """The outcome of running one solution against its tests."""

    verdict: Verdict
    tests_total: int
    tests_run: int  # tests the runner finished (passed or failed)
    tests_passed: int
    detail: str | None = None
    infra_attempts: int = 0  # runner starts that failed for infrastructure reasons
    seconds: float = 0.0


Comparer = Callable[[str, str], "str | None"]


class _InfraError(Exception):
    pass


def _run_once(
    mode: str,
    code: str,
    tests: Sequence[Mapping[str, Any]],
    func_name: str | None,
    limits: SandboxLimits,
    compare: Comparer,
    threads: ThreadPolicy,
) -> CodeResult:
    budget = min(limits.global_timeout_s, (limits.per_test_timeout_s + 1) * len(tests) + 5)
    deadline = time.monotonic() + budget
    job = {
        "mode": mode,
        "code": code,
        "func_name": func_name,
        "timeout_s": limits.per_test_timeout_s,
        "memory_bytes": limits.memory_mb * 1024 * 1024,
        "output_bytes": limits.output_bytes,
        "threads": threads,
    }
    try:
        runner = open_runner(job, limits)
    except RunnerLost as exc:
        raise _InfraError(str(exc)) from exc
    with runner:
        try:
            compiled = runner.receive(min(budget, 60.0))
        except RunnerLost as exc:
            runner.fail()  # no solution code has run yet, so the runner itself is suspect
            raise _InfraError(f"{exc}; runner stderr: {runner.stderr_tail()[-500:]}") from exc
        if not compiled.get("ok"):
            return CodeResult(Verdict.SYNTAX_ERROR, len(tests), 0, 0, compiled.get("error"))
        return _run_tests(runner, mode, tests, limits, compare, deadline)


def _run_tests(
    runner: FrameChannel,
    mode: str,
    tests: Sequence[Mapping[str, Any]],
    limits: SandboxLimits,
    compare: Comparer,
    deadline: float,
) -> CodeResult:
    total, passed = len(tests), 0
    for index, test in enumerate(tests):
        left = deadline - time.monotonic()
        where = f"test {index + 1} of {total}"
        if left <= 0:
            return CodeResult(Verdict.TIMEOUT, total, passed, passed, f"{where}: global time limit reached")
        frame = {"input": test["input"]}
        if mode == "asserts":
            frame["token"] = uuid.uuid4().hex
        try:
            runner.send(frame)
            answer = runner.receive(min(left, limits.per_test_timeout_s + 5.0))
        except RunnerLost as exc:
            if exc.timed_out:
                return CodeResult(Verdict.TIMEOUT, total, passed, passed, f"{where}: {exc}")
            # The runner was alive when this test started, so the solution took it down (e.g. killed
            # its parent): a model error, not infrastructure.
            return CodeResult(Verdict.RUNTIME_ERROR, total, passed, passed, f"{where}: {exc}")
        status = answer.get("status")
        if status != "ok":
            verdict = _RUNNER_STATUS.get(str(status), Verdict.RUNTIME_ERROR)
            if mode == "asserts" and str(answer.get("detail", "")).startswith("AssertionError"):
                verdict = Verdict.WRONG_ANSWER  # a failed assert is a wrong answer, not a crash
            return CodeResult(verdict, total, index + 1, passed, f"{where}: {answer.get('detail')}")
        problem = None if mode == "asserts" else compare(answer.get("output", ""), test["output"])
        if problem is not None:
            return CodeResult(Verdict.WRONG_ANSWER, total, index + 1, passed, f"{where}: {problem}")
        passed += 1
    with contextlib.suppress(RunnerLost):
        runner.send({"stop": True})
    return CodeResult(Verdict.PASSED, total, total, passed)


def _grade(
    mode: str,
    code: str,
    tests: Sequence[Mapping[str, Any]],
    func_name: str | None,
    limits: SandboxLimits | None,
    compare: Comparer,
    threads: ThreadPolicy = "join",
) -> CodeResult:
    if not tests:
        return CodeResult(Verdict.INFRA_ERROR, 0, 0, 0, "the problem has no tests, so nothing was run")
    start = time.monotonic()
    reasons = []
    for attempt in (1, 2):  # an infrastructure failure gets exactly one retry
        try:
            result = _run_once(mode, code, tests, func_name, limits or DEFAULT_LIMITS, compare, threads)
        except _InfraError as exc:
            reasons.append(f"attempt {attempt}: {exc}")
            continue
        return replace(result, infra_attempts=attempt - 1, seconds=time.monotonic() - start)
    detail = "infrastructure error (not the model's fault): " + " | ".join(reasons)
    return CodeResult(Verdict.INFRA_ERROR, len(tests), 0, 0, detail[:1000], 2, time.monotonic() - start)


def grade_stdio(
    code: str,
    tests: Sequence[Mapping[str, Any]],
    limits: SandboxLimits | None = None,
    float_compare: FloatCompare = DEFAULT_FLOAT_COMPARE,
    threads: ThreadPolicy = DEFAULT_THREADS,
) -> CodeResult:
    """Run a stdin/stdout program on each test's "input" and compare with its "output"."""

    def compare(got: str, want: str) -> str | None:
        return compare_stdio(got, want, float_compare)

    return _grade("stdio", code, tests, None, limits, compare, threads)


def grade_functional(
    code: str, func_name: str, tests: Sequence[Mapping[str, Any]], limits: SandboxLimits | None = None
) -> CodeResult:
    """Call `Solution().<func_name>` (or a top-level function) with each input line as one JSON argument."""
    return _grade("functional", code, tests, func_name, limits, compare_functional)


def grade_asserts(
    code: str, tests: Sequence[Mapping[str, Any]], limits: SandboxLimits | None = None
) -> CodeResult:
    """Run each test's "input" (Python assert statements) after the solution; passing means no exception."""
    return _grade("asserts", code, tests, None, limits, lambda got, want: None)


def grade_problem(problem: Problem, code: str, limits: SandboxLimits | None = None) -> CodeResult:
    """Pick the test mode from the problem's tests and run them."""
    tests = problem.tests or ()
    kinds = {str(t.get("testtype", "stdin")) for t in tests}
    code = str(problem.meta.get("code_prefix", "")) + code
    if "functional" in kinds:
        func_name = problem.meta.get("func_name")
        if not func_name:
            detail = (
                f"problem {problem.id}: functional tests but no meta['func_name']; fix the task's to_problem"
            )
            return CodeResult(Verdict.INFRA_ERROR, len(tests), 0, 0, detail)
        return grade_functional(code, str(func_name), tests, limits)
    if "python_asserts" in kinds:
        return grade_asserts(code, tests, limits)
    # Module defaults read at call time, so a validation script can switch them for a whole run.
    return grade_stdio(code, tests, limits, DEFAULT_FLOAT_COMPARE, DEFAULT_THREADS)


def score_result(problem: Problem, completion: Completion) -> tuple[Score, CodeResult | None]:
    """`score_code` plus the CodeResult behind it (None when no code was found)."""
    code = extract_code(completion.text)
    if code is None:
        reason = "no closed ```code block``` after the reasoning"
        return Score(problem.id, completion.sample_index, Verdict.NO_CODE, None, reason), None
    result = grade_problem(problem, code)
    detail = f"{result.tests_passed}/{result.tests_total} tests passed"
    if result.detail:
        detail += f"; {result.detail}"
    return Score(problem.id, completion.sample_index, result.verdict, code, detail), result


def score_code(problem: Problem, completion: Completion) -> Score:
    """The code Scorer: extract the last code block and run it against Problem.tests."""
    return score_result(problem, completion)[0]


def grader_settings(limits: SandboxLimits = DEFAULT_LIMITS) -> dict[str, Any]:
    return {
        "float_compare": DEFAULT_FLOAT_COMPARE,
        "threads": DEFAULT_THREADS,
        "stdin": "real_fd",  # programs may read fd 0 directly (open(0), sys.stdin.buffer)
        "stop_on_first_failure": True,
        "per_test_timeout_s": limits.per_test_timeout_s,
        "global_timeout_s": f"min({limits.global_timeout_s}, (per_test_timeout_s + 1) * n_tests + 5)",
        "memory_mb": limits.memory_mb,
        "output_bytes": limits.output_bytes,
        "max_processes": limits.max_processes,
        "sandbox": sandbox_mode(),
        "prelude": "lcb_imports_v1",
    }


CODE_GRADER = Grader(name="code_exec", version=GRADER_VERSION, score=score_code, settings=grader_settings())
