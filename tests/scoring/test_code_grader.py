"""Code grading semantics: extraction, LCB output comparison, functional calls, verdicts, infra retries."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.scoring import code_grader, sandbox
from harness.scoring.code_compare import extract_code
from harness.scoring.code_grader import (
    CODE_GRADER,
    grade_asserts,
    grade_functional,
    grade_stdio,
    score_code,
)
from harness.scoring.code_pool import grade_many
from harness.types import Completion, Problem, Verdict

FAST = sandbox.SandboxLimits(per_test_timeout_s=2, global_timeout_s=20, memory_mb=1024)


def completion(text: str, index: int = 0) -> Completion:
    return Completion("t", "p", index, text, 10, "stop")


def test_extract_takes_last_block_after_reasoning() -> None:
    text = (
        "<think>```python\nprint(0)\n```</think>Try:\n```\nprint(1)\n```\nBetter:\n```python\nprint(2)\n```"
    )
    assert extract_code(text) == "print(2)\n"
    assert extract_code("<think>still thinking ```python\nprint(1)\n```") is None
    assert extract_code("no code here") is None
    assert extract_code("```python\nprint(1)\n```\nand an unclosed ```python\nx") == "print(1)\n"


def test_grade_stdio_verdicts() -> None:
    tests = [{"input": "2 3\n", "output": "5\n"}, {"input": "10 5\n", "output": "15\n"}]
    assert (
        grade_stdio("a, b = map(int, input().split())\nprint(a + b)", tests, FAST).verdict == Verdict.PASSED
    )
    wrong = grade_stdio("a, b = map(int, input().split())\nprint(a * b)", tests, FAST)
    assert wrong.verdict == Verdict.WRONG_ANSWER and wrong.tests_passed == 0 and wrong.tests_run == 1
    assert grade_stdio("print(", tests, FAST).verdict == Verdict.SYNTAX_ERROR
    assert grade_stdio("raise KeyError(1)", tests, FAST).verdict == Verdict.RUNTIME_ERROR
    reads_fd0 = "print(sum(map(int, open(0).read().split())))"
    assert grade_stdio(reads_fd0, tests, FAST).verdict == Verdict.PASSED


def test_prelude_and_late_stdlib_imports_work() -> None:
    code = "import fractions, hashlib\nprint(gcd(12, 18), Counter('aab')['a'], fractions.Fraction(1, 2))"
    assert grade_stdio(code, [{"input": "", "output": "6 2 1/2"}], FAST).verdict == Verdict.PASSED


def test_thread_policy_is_a_named_choice() -> None:
    code = "import threading\ndef main():\n    print(int(input()) + 1)\nthreading.Thread(target=main).start()"
    tests = [{"input": "1\n", "output": "2"}]
    assert grade_stdio(code, tests, FAST, threads="join").verdict == Verdict.PASSED
    slow = code.replace("def main():\n", "def main():\n    import time\n    time.sleep(0.3)\n")
    assert grade_stdio(slow, tests, FAST, threads="exit_with_main").verdict == Verdict.WRONG_ANSWER


def test_grade_functional_calls_the_method_with_json_arguments() -> None:
    code = "class Solution:\n    def pair(self, nums: List[int], k: int):\n"
    code += "        return (sorted(nums)[:k], k)\n"
    tests = [{"input": "[3, 1, 2]\n2", "output": "[[1, 2], 2]", "testtype": "functional"}]
    assert grade_functional(code, "pair", tests, FAST).verdict == Verdict.PASSED
    bad = [{"input": "[3, 1, 2]\n2", "output": "[[1, 3], 2]", "testtype": "functional"}]
    assert grade_functional(code, "pair", bad, FAST).verdict == Verdict.WRONG_ANSWER
    assert grade_functional(code, "missing", tests, FAST).verdict == Verdict.RUNTIME_ERROR


def test_asserts_failed_assert_is_wrong_answer() -> None:
    tests = [{"input": "assert add(2, 2) == 4", "output": "", "testtype": "python_asserts"}]
    assert grade_asserts("def add(a, b):\n    return a + b", tests, FAST).verdict == Verdict.PASSED
    assert grade_asserts("def add(a, b):\n    return a - b", tests, FAST).verdict == Verdict.WRONG_ANSWER


def test_zero_tests_is_never_passed() -> None:
    result = grade_stdio("print(1)", [], FAST)
    assert result.verdict == Verdict.INFRA_ERROR and "no tests" in (result.detail or "")


def test_runner_that_cannot_start_is_an_infra_error_retried_once(tmp_path: Path, monkeypatch) -> None:
    for name in sandbox._INSIDE:
        shutil.copy(sandbox.RUNNER_DIR / name, tmp_path / name)
    (tmp_path / "_code_runner.py").write_text("import sys\nsys.exit(3)\n")
    tmp_path.chmod(0o755)
    monkeypatch.setattr(sandbox, "RUNNER_DIR", tmp_path)
    result = grade_stdio("print(1)", [{"input": "", "output": "1"}], FAST)
    assert result.verdict == Verdict.INFRA_ERROR
    assert result.infra_attempts == 2 and "attempt 2" in (result.detail or "")


def test_score_code_and_grade_many() -> None:
    stdin_problem = Problem("s", "add", tests=({"input": "1 2", "output": "3", "testtype": "stdin"},))
    func_problem = Problem(
        "f",
        "neg",
        tests=({"input": "5", "output": "-5", "testtype": "functional"},),
        meta={"func_name": "neg"},
    )
    good = completion("<think>hmm</think>```python\nprint(sum(map(int, input().split())))\n```")
    assert score_code(stdin_problem, good).verdict == Verdict.PASSED
    assert score_code(stdin_problem, completion("<think>never closed")).verdict == Verdict.NO_CODE
    neg = completion("```python\nclass Solution:\n    def neg(self, x):\n        return -x\n```", 1)
    scores = grade_many(
        [(stdin_problem, good), (func_problem, neg), (stdin_problem, completion("nope", 2))],
        workers=2,
        progress=False,
    )
    assert [s.verdict for s in scores] == [Verdict.PASSED, Verdict.PASSED, Verdict.NO_CODE]
    assert scores[1].detail == "1/1 tests passed"


def test_grader_settings_name_every_choice() -> None:
    settings = CODE_GRADER.settings
    assert settings["float_compare"] == "exact_decimal" and settings["threads"] == "join"
    assert settings["per_test_timeout_s"] == 6.0 and settings["sandbox"] in ("bwrap", "subprocess")
    assert settings["time_limit"] == "cpu" and settings["asserts"] == "judge_process"
    assert settings["functional_compare"] == "lcb_equality"
    assert CODE_GRADER.name == "code_exec" and CODE_GRADER.version == code_grader.GRADER_VERSION == "2"
    assert CODE_GRADER.score_many is not None  # harness run grades code in the worker pool


@pytest.mark.parametrize("memory_mb", [256])
def test_memory_limit_is_reported(memory_mb: int) -> None:
    limits = sandbox.SandboxLimits(per_test_timeout_s=3, memory_mb=memory_mb)
    result = grade_stdio("x = bytearray(2 * 1024**3)", [{"input": "", "output": ""}], limits)
    assert result.verdict == Verdict.MEMORY_LIMIT
