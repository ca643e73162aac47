"""Tests sent ahead of their results: the first failure in test order decides, the test still running
is ended at once, and large frames in both directions never leave the harness and runner waiting on
each other."""

from __future__ import annotations

from harness.scoring import sandbox
from harness.scoring.code_grader import grade_functional, grade_stdio
from harness.types import Verdict

LIMITS = sandbox.SandboxLimits(per_test_timeout_s=20, global_timeout_s=100, memory_mb=1024)

# Test 1 is answered wrongly; test 2 (already on its way when test 1's result is read) computes for
# 20 s of CPU; test 3 would fail differently. Only test 1 may count.
SPINS_AFTER_A_WRONG_ANSWER = """
n = int(input())
if n == 1:
    print("wrong")
elif n == 2:
    while True:
        pass
else:
    raise RuntimeError("test 3")
"""
TESTS = [{"input": f"{n}\n", "output": "right"} for n in (1, 2, 3)]


def test_the_first_failure_in_order_decides_and_the_next_test_is_ended() -> None:
    result = grade_stdio(SPINS_AFTER_A_WRONG_ANSWER, TESTS, LIMITS)
    assert result.verdict == Verdict.WRONG_ANSWER
    assert (result.tests_run, result.tests_passed) == (1, 0)
    assert "test 1 of 3" in (result.detail or "")
    # Without the abort the supervisor would spin through test 2 (20 s of CPU) before it cleans up.
    assert result.seconds < 10


def test_a_later_failure_is_reported_after_the_passes_before_it() -> None:
    tests = [{"input": "1\n", "output": "wrong"}, *TESTS[2:]]
    result = grade_stdio(SPINS_AFTER_A_WRONG_ANSWER, tests, LIMITS)
    assert result.verdict == Verdict.RUNTIME_ERROR and result.tests_passed == 1
    assert "test 2 of 2" in (result.detail or "") and "test 3" in (result.detail or "")


def test_megabytes_both_ways_with_several_tests_in_flight() -> None:
    # Inputs larger than a pipe's buffer go out while outputs as large come back.
    tests = [{"input": str(n) * (3 << 20), "output": str(n) * (3 << 20)} for n in range(4)]
    echo = "import sys\nsys.stdout.write(sys.stdin.read())"
    result = grade_stdio(echo, tests, LIMITS)
    assert result.verdict == Verdict.PASSED and result.tests_passed == 4


def test_a_compile_error_with_tests_already_sent_is_a_syntax_error_and_the_runner_goes_on() -> None:
    assert grade_stdio("print(", TESTS, LIMITS).verdict == Verdict.SYNTAX_ERROR
    good = grade_functional(
        "class Solution:\n    def f(self, x):\n        return x + 1\n",
        "f",
        [{"input": "1", "output": "2"}, {"input": "5", "output": "6"}, {"input": "0", "output": "1"}],
        LIMITS,
    )
    assert good.verdict == Verdict.PASSED and good.tests_passed == 3
