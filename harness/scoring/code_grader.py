"""LiveCodeBench-style code grading: run a solution's tests in the sandbox and name the verdict.

All tests of one solution run under one supervisor in the sandbox (a fresh candidate process per
test); the harness compares stdin/stdout and functional outputs itself, stopping at the first failing
test as LiveCodeBench does, and assert-style tests are decided by a judge process that never runs
candidate code (see _judge.py). A solution for which no test ran is never "passed". Runner failures
before the solution could run are infrastructure errors: retried once and reported apart from model
errors. Tampering flags (tamper.py) are recorded beside the verdict and never change it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from harness.scoring._literal_codec import Limits
from harness.scoring.code_compare import FloatCompare, compare_functional, compare_stdio, extract_code
from harness.scoring.judge_spec import derive_spec
from harness.scoring.sandbox import FrameChannel, RunnerLost, SandboxLimits, sandbox_mode
from harness.scoring.tamper import scan
from harness.scoring.warm_runner import open_runner
from harness.types import Completion, Grader, Problem, Score, Verdict

GRADER_VERSION = "2"  # 2: CPU-time limits, judge process for asserts, literal codec, LCB tuple rule
DEFAULT_LIMITS = SandboxLimits()
DEFAULT_FLOAT_COMPARE: FloatCompare = "exact_decimal"  # what published LCB numbers use
# "join": wait for a program's non-daemon threads, as a contest judge (and a normal interpreter exit)
# does. "exit_with_main": end when the main body returns, losing what threads print later, which is what
# LCB's in-process grader does (71 of 800 o1 release_v1 submissions lose their output there); it races
# with the threads, so verdicts can vary between runs. See benchmarks/README.md.
ThreadPolicy = Literal["exit_with_main", "join"]
DEFAULT_THREADS: ThreadPolicy = "join"

_RUNNER_STATUS = {
    "wrong_answer": Verdict.WRONG_ANSWER,
    "timeout": Verdict.TIMEOUT,
    "runtime_error": Verdict.RUNTIME_ERROR,
    "memory_limit": Verdict.MEMORY_LIMIT,
    "output_limit": Verdict.RUNTIME_ERROR,
    "infra_error": Verdict.INFRA_ERROR,
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
    cpu_seconds: float = 0.0  # CPU time of the candidate processes, all tests together
    flags: tuple[str, ...] = ()  # what the runner saw the program try (see tamper.py)


Comparer = Callable[[bytes, str], "str | None"]


class _InfraError(Exception):
    pass


def cpu_budget(limits: SandboxLimits, n_tests: int) -> float:
    return min(limits.global_timeout_s, (limits.per_test_timeout_s + 1) * n_tests + 5)


def _run_once(
    job: dict[str, Any], tests: Sequence[Mapping[str, Any]], limits: SandboxLimits, compare: Comparer
) -> CodeResult:
    try:
        runner = open_runner(job, limits)
    except RunnerLost as exc:
        raise _InfraError(str(exc)) from exc
    with runner:
        feed = _TestFeed(runner, tests)
        try:
            feed.top_up(0)  # on their way while the supervisor compiles
            compiled = runner.receive(60.0)[0]
        except RunnerLost as exc:
            runner.fail()  # no solution code has run yet, so the runner itself is suspect
            raise _InfraError(f"{exc}; runner stderr: {runner.stderr_tail()[-500:]}") from exc
        if not compiled.get("ok"):
            return CodeResult(Verdict.SYNTAX_ERROR, len(tests), 0, 0, compiled.get("error"))
        return _run_tests(runner, feed, limits, compare)


_AHEAD = 2  # tests in flight: the supervisor runs the next while the harness compares the last


class _TestFeed:
    """A solution's tests, sent to its supervisor a little ahead of their results, then `stop`.

    Only the order of the results decides: a result after the first failure is never read, and the
    supervisor is told to abort the test still running (SolutionChannel.close).
    """

    def __init__(self, runner: FrameChannel, tests: Sequence[Mapping[str, Any]]) -> None:
        self.runner, self.tests, self.sent = runner, tests, 0

    def top_up(self, results_read: int) -> None:
        while self.sent < min(len(self.tests), results_read + _AHEAD):
            self.runner.send({"input": self.tests[self.sent]["input"]})
            self.sent += 1
            if self.sent == len(self.tests):
                self.runner.send({"stop": True})


def _run_tests(runner: FrameChannel, feed: _TestFeed, limits: SandboxLimits, compare: Comparer) -> CodeResult:
    tests = feed.tests
    total, passed, cpu = len(tests), 0, 0.0
    budget = cpu_budget(limits, total)
    flags: set[str] = set()

    def result(verdict: Verdict, run: int, detail: str | None = None) -> CodeResult:
        return CodeResult(
            verdict, total, run, passed, detail, cpu_seconds=round(cpu, 3), flags=tuple(sorted(flags))
        )

    for index, test in enumerate(tests):
        where = f"test {index + 1} of {total}"
        if cpu >= budget:
            return result(
                Verdict.TIMEOUT, index, f"{where}: CPU budget of {budget:g} s for the solution used up"
            )
        try:
            feed.top_up(index)
            # The runner enforces the limits itself; this wait only guards against a hung runner.
            meta, blob = runner.receive(limits.wall_s + 30.0)
        except RunnerLost as exc:
            # The runner enforces the limits, so our own guard firing means it hung; where the solution
            # ran as the runner's own uid (no root), it may have killed the runner: its fault, then.
            if getattr(runner, "uids", None):
                verdict = Verdict.INFRA_ERROR
            else:
                verdict = Verdict.TIMEOUT if exc.timed_out else Verdict.RUNTIME_ERROR
            return result(verdict, index, f"{where}: {exc}")
        cpu += float(meta.get("cpu_s") or 0.0)
        flags.update(str(f) for f in meta.get("flags") or ())
        status = str(meta.get("status"))
        if status not in ("ok", "passed"):
            verdict = _RUNNER_STATUS.get(status, Verdict.INFRA_ERROR)
            return result(verdict, index + 1, f"{where}: {meta.get('detail')}")
        try:
            problem = compare(blob, test["output"]) if status == "ok" else None
        except Exception as exc:  # a test whose expected output cannot be read: not the model's fault
            return result(
                Verdict.INFRA_ERROR, index + 1, f"{where}: cannot compare ({type(exc).__name__}: {exc})"
            )
        if problem is not None:
            return result(Verdict.WRONG_ANSWER, index + 1, f"{where}: {problem}")
        passed += 1
    if cpu > budget:
        return result(Verdict.TIMEOUT, total, f"CPU budget of {budget:g} s for the solution used up")
    return result(Verdict.PASSED, total)


def _grade(
    job: dict[str, Any], tests: Sequence[Mapping[str, Any]], limits: SandboxLimits | None, compare: Comparer
) -> CodeResult:
    if not tests:
        return CodeResult(Verdict.INFRA_ERROR, 0, 0, 0, "the problem has no tests, so nothing was run")
    start = time.monotonic()
    reasons = []
    for attempt in (1, 2):  # an infrastructure failure gets exactly one retry
        try:
            result = _run_once(job, tests, limits or DEFAULT_LIMITS, compare)
        except _InfraError as exc:
            reasons.append(f"attempt {attempt}: {exc}")
            continue
        if result.verdict == Verdict.INFRA_ERROR and attempt == 1:
            reasons.append(f"attempt {attempt}: {result.detail}")
            continue
        return replace(result, infra_attempts=attempt - 1, seconds=time.monotonic() - start)
    detail = "infrastructure error (not the model's fault): " + " | ".join(reasons)
    return CodeResult(Verdict.INFRA_ERROR, len(tests), 0, 0, detail[:1000], 2, time.monotonic() - start)


def _job(mode: str, code: str, **extra: Any) -> dict[str, Any]:
    return {"mode": mode, "code": code, "threads": DEFAULT_THREADS, **extra}


def grade_stdio(
    code: str,
    tests: Sequence[Mapping[str, Any]],
    limits: SandboxLimits | None = None,
    float_compare: FloatCompare = DEFAULT_FLOAT_COMPARE,
    threads: ThreadPolicy = DEFAULT_THREADS,
) -> CodeResult:
    """Run a stdin/stdout program on each test's "input" and compare with its "output"."""

    def compare(got: bytes, want: str) -> str | None:
        return compare_stdio(got, want, float_compare)

    return _grade(_job("stdio", code, threads=threads), tests, limits, compare)


def grade_functional(
    code: str, func_name: str, tests: Sequence[Mapping[str, Any]], limits: SandboxLimits | None = None
) -> CodeResult:
    """Call `Solution().<func_name>` (or a top-level function) with each input line as one JSON argument."""
    output_limit = (limits or DEFAULT_LIMITS).output_bytes

    def compare(got: bytes, want: str) -> str | None:
        return compare_functional(got, want, Limits(max_bytes=output_limit))

    return _grade(_job("functional", code, func_name=func_name), tests, limits, compare)


def grade_asserts(
    code: str,
    tests: Sequence[Mapping[str, Any]],
    limits: SandboxLimits | None = None,
    judge: Mapping[str, Any] | None = None,
) -> CodeResult:
    """Run each test's "input" (assert statements) in a judge process against the solution's functions.

    `judge` names what the tests take from the solution (`remote_names`) and the problem's own code the
    tests rely on (`context`, e.g. HumanEval's helper functions); without it they are derived from the
    test code (see judge_spec.py).
    """
    spec = dict(judge) if judge else derive_spec(str(tests[0]["input"]) if tests else "")
    return _grade(_job("asserts", code, judge=spec), tests, limits, lambda got, want: None)


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
        return grade_asserts(code, tests, limits, problem.meta.get("judge"))
    # Module defaults read at call time, so a validation script can switch them for a whole run.
    return grade_stdio(code, tests, limits, DEFAULT_FLOAT_COMPARE, DEFAULT_THREADS)


def test_mode(problem: Problem) -> str:
    kinds = {str(t.get("testtype", "stdin")) for t in problem.tests or ()}
    return "functional" if "functional" in kinds else "asserts" if "python_asserts" in kinds else "stdio"


def score_result(
    problem: Problem, completion: Completion, limits: SandboxLimits | None = None
) -> tuple[Score, CodeResult | None]:
    """`score_code` plus the CodeResult behind it (None when no code was found)."""
    code = extract_code(completion.text)
    if code is None:
        reason = "no closed ```code block``` after the reasoning"
        return Score(problem.id, completion.sample_index, Verdict.NO_CODE, None, reason), None
    result = grade_problem(problem, code, limits)
    detail = f"{result.tests_passed}/{result.tests_total} tests passed"
    if result.detail:
        detail += f"; {result.detail}"
    limitation = problem.meta.get("grading_limitation")
    if limitation:
        detail += f"; limitation: {limitation}"
    flags = tuple(sorted(set(scan(code, test_mode(problem))) | set(result.flags)))
    return Score(problem.id, completion.sample_index, result.verdict, code, detail, flags), result


def score_code(problem: Problem, completion: Completion) -> Score:
    """The code Scorer: extract the last code block and run it against Problem.tests."""
    return score_result(problem, completion)[0]


def grader_settings(limits: SandboxLimits = DEFAULT_LIMITS) -> dict[str, Any]:
    return {
        "float_compare": DEFAULT_FLOAT_COMPARE,
        "threads": DEFAULT_THREADS,
        "stdin": "real_fd",  # programs may read fd 0 directly (open(0), sys.stdin.buffer)
        "stop_on_first_failure": True,
        "time_limit": "cpu",  # CPU time decides timeout; the wall-clock guard only ends waiting programs
        "per_test_timeout_s": limits.per_test_timeout_s,
        "global_timeout_s": f"min({limits.global_timeout_s}, (per_test_timeout_s + 1) * n_tests + 5)",
        # Past the guard a test is ended once it has made no CPU progress for 2 s; past 4 guards, always.
        "wall_guard_s": "4 * per_test_timeout_s + 5" if limits.wall_guard_s is None else limits.wall_guard_s,
        "memory_mb": limits.memory_mb,
        "disk_mb": limits.disk_mb,
        "output_bytes": limits.output_bytes,
        "max_processes": limits.max_processes,
        "sandbox": sandbox_mode(),
        "prelude": "lcb_imports_v1",
        "functional_compare": "lcb_equality",  # Python ==, a top-level tuple read as a list, as LCB does
        "asserts": "judge_process",  # dataset tests run apart from the candidate, which returns data only
    }


def score_many(jobs: Sequence[tuple[Problem, Completion]]) -> list[Score]:
    """Grade many completions in parallel (code_pool); the same Scores `score_code` gives, in order."""
    from harness.scoring.code_pool import grade_many  # code_pool imports this module

    return grade_many(jobs)


CODE_GRADER = Grader(
    name="code_exec",
    version=GRADER_VERSION,
    score=score_code,
    settings=grader_settings(),
    score_many=score_many,
)
