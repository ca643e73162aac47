"""Assert-style tests run in the judge process: what the dataset's test code can do with the solution's
functions and objects (exactly what it could in the solution's own process), and what it cannot."""

from __future__ import annotations

from harness.scoring.code_grader import CodeResult, grade_asserts
from harness.scoring.judge_spec import derive_spec, free_names, spec
from harness.scoring.sandbox import SandboxLimits
from harness.types import Verdict

LIMITS = SandboxLimits(per_test_timeout_s=2, memory_mb=512, wall_guard_s=10)


def judged(code: str, tests: str, remote: tuple[str, ...] = (), context: str = "") -> CodeResult:
    judge = {"remote_names": list(remote), "context": context} if remote else None
    return grade_asserts(code, [{"input": tests, "output": "", "testtype": "python_asserts"}], LIMITS, judge)


def test_calls_return_plain_data_and_keep_their_types() -> None:
    code = "def f(x):\n    return [(x, {x}), frozenset([x]), {'k': b'v'}, 2.5, None, 10**30]\n"
    tests = (
        "r = f(1)\nassert r == [(1, {1}), frozenset([1]), {'k': b'v'}, 2.5, None, 10**30]\n"
        "assert type(r[0]) is tuple and type(r[0][1]) is set\n"
        "assert f(1) != [[1, [1]], [1], {'k': b'v'}, 2.5, None, 10**30]\n"
    )
    assert judged(code, tests).verdict == Verdict.PASSED


def test_in_place_changes_to_arguments_are_written_back() -> None:
    code = "def sort_it(xs, seen):\n    xs.sort()\n    seen['done'] = True\n"
    tests = (
        "a = [3, 1, 2]\nd = {}\nassert sort_it(a, d) is None\nassert a == [1, 2, 3] and d == {'done': True}\n"
    )
    assert judged(code, tests, ("sort_it",)).verdict == Verdict.PASSED


def test_objects_of_the_solutions_classes_can_be_built_called_and_passed_back() -> None:
    code = (
        "class Node:\n    def __init__(self, data):\n        self.data = data\n        self.left = None\n"
        "    def value(self):\n        return self.data\n"
        "def depth(node):\n    return 0 if node is None else 1 + depth(node.left)\n"
    )
    tests = "root = Node(1)\nroot.left = Node(2)\nassert depth(root) == 2\nassert root.left.value() == 2\n"
    assert judged(code, tests, ("Node", "depth")).verdict == Verdict.PASSED


def test_comparing_a_solution_object_is_refused() -> None:
    code = "class Box:\n    def __eq__(self, other):\n        return True\ndef make():\n    return Box()\n"
    result = judged(code, "assert make() == 3\n", ("make",))
    assert result.verdict == Verdict.WRONG_ANSWER and "compare an object of the solution" in (
        result.detail or ""
    )
    # Not even a test that catches every exception can let it through.
    result = judged(code, "try:\n    assert make() == 3\nexcept BaseException:\n    pass\n", ("make",))
    assert result.verdict == Verdict.WRONG_ANSWER


def test_exceptions_from_the_solution_reach_the_tests() -> None:
    code = "def check_age(n):\n    if n < 0:\n        raise ValueError('negative')\n    return n\n"
    caught = "try:\n    check_age(-1)\nexcept ValueError as e:\n    assert str(e) == 'negative'\n"
    caught += "else:\n    assert False\n"
    assert judged(code, caught, ("check_age",)).verdict == Verdict.PASSED
    uncaught = judged(code, "assert check_age(-1) == 0\n", ("check_age",))
    assert uncaught.verdict == Verdict.RUNTIME_ERROR and "raised by the solution" in (uncaught.detail or "")


def test_generators_types_keywords_and_problem_helpers() -> None:
    code = "def evens(xs, kind=int):\n    return (x for x in xs if isinstance(x, kind) and x % 2 == 0)\n"
    tests = (
        "assert list(evens([1, 2, 3, 4])) == [2, 4]\nassert list(evens(xs=[2.0, 2], kind=float)) == [2.0]\n"
    )
    tests += "assert double_all(evens(range(5))) == [0, 4, 8]\n"
    context = "def double_all(values):\n    return [2 * v for v in values]\n"  # HumanEval-style helper
    assert judged(code, tests, ("evens",), context).verdict == Verdict.PASSED


def test_a_name_the_solution_lacks_is_its_error() -> None:
    result = judged("def other():\n    return 1\n", "assert wanted() == 1\n", ("wanted",))
    assert result.verdict == Verdict.RUNTIME_ERROR and "NameError" in (result.detail or "")


def test_the_judge_spec_comes_from_the_dataset() -> None:
    tests = "import math\nassert math.isclose(area(2), 12.56, rel_tol=0.01)\nassert gcd(4, 6) == 2\nx = 1\n"
    assert free_names(tests) == {"area", "gcd"}
    reference = "import math\ndef area(r):\n    return math.pi * r * r\n"
    reference += "def gcd(a, b):\n    return b and gcd(b, a % b) or a\n"
    # `gcd` is the solution's (the reference defines it), not the prelude's math.gcd.
    assert spec(tests, reference_code=reference)["remote_names"] == ["area", "gcd"]
    assert derive_spec(tests)["remote_names"] == ["area", "gcd"]
    assert spec("check(f)\n", entry_points=("f",))["remote_names"] == ["f"]
