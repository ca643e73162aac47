"""grade_many: input order kept, warm runners of the pool's threads are gone when it returns."""

from __future__ import annotations

import os
import time
from pathlib import Path

from harness.scoring import warm_runner
from harness.scoring.code_pool import expected_cost, grade_many
from harness.types import Completion, Problem, Verdict

ADD = Problem("add", "a+b", tests=({"input": "1 2", "output": "3"}, {"input": "5 5", "output": "10"}))


def fenced(code: str, index: int) -> Completion:
    return Completion("t", "add", index, f"```python\n{code}\n```", 0, "stop")


def _parent(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("PPid:"):
            return int(line.split()[1])
    return 0


def runner_processes() -> list[int]:
    """Runner processes started by this test process (other jobs on the machine may grade too)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if b"_code_runner.py" not in Path(f"/proc/{entry}/cmdline").read_bytes():
                continue
            pid = int(entry)
            while pid > 1 and pid != os.getpid():
                pid = _parent(pid)
        except OSError:
            continue
        if pid == os.getpid():
            found.append(int(entry))
    return found


def test_pool_keeps_order_and_leaves_no_runner_behind() -> None:
    warm_runner.close_all()
    good = "print(sum(map(int, input().split())))"
    codes = [good, "print(0)", "import os\nos.kill(os.getppid(), 9)", good, "print(", good] * 2
    jobs = [(ADD, fenced(code, i)) for i, code in enumerate(codes)]
    scores = grade_many(jobs, workers=3, progress=False)
    expected = [Verdict.PASSED, Verdict.WRONG_ANSWER, Verdict.RUNTIME_ERROR, Verdict.PASSED]
    expected += [Verdict.SYNTAX_ERROR, Verdict.PASSED]
    assert [s.verdict for s in scores] == expected * 2
    assert [s.sample_index for s in scores] == list(range(len(codes)))
    if warm_runner.warm_enabled():
        assert warm_runner._all_runners == set()  # the pool's threads ended, their runners with them
    deadline = time.monotonic() + 3
    while runner_processes() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert runner_processes() == []


def test_an_exception_while_grading_one_sample_is_that_samples_verdict() -> None:
    broken = Problem("broken", "no input field", tests=({"output": "3"},))
    good = "print(sum(map(int, input().split())))"
    jobs = [(ADD, fenced(good, 0)), (broken, fenced(good, 1)), (ADD, fenced("print(0)", 2))]
    scores = grade_many(jobs, workers=2, progress=False)
    assert [s.verdict for s in scores] == [Verdict.PASSED, Verdict.INFRA_ERROR, Verdict.WRONG_ANSWER]
    assert "KeyError" in (scores[1].detail or "")


def test_likely_long_solutions_are_graded_first_and_scores_keep_input_order() -> None:
    def problem(difficulty: str | None, size: int) -> Problem:
        meta = {"difficulty": difficulty} if difficulty else {}
        return Problem(
            f"{difficulty}-{size}", "", tests=({"input": "1" * size, "output": "1" * size},), meta=meta
        )

    problems = [problem("easy", 900), problem(None, 5), problem("hard", 1), problem("medium", 50)]
    ranked = sorted(problems, key=expected_cost, reverse=True)
    assert [p.id for p in ranked] == ["hard-1", "medium-50", "None-5", "easy-900"]
    started: list[str] = []
    echo = "import sys\nsys.stdout.write(sys.stdin.read())"
    jobs = [
        (p, Completion("t", p.id, i, f"```python\n{echo}\n```", 0, "stop")) for i, p in enumerate(problems)
    ]
    scores = grade_many(
        jobs, workers=1, progress=False, on_result=lambda i, s, r: started.append(s.problem_id)
    )
    assert started == ["hard-1", "medium-50", "None-5", "easy-900"]  # one worker: done in the order started
    assert [s.problem_id for s in scores] == [p.id for p in problems]
    assert all(s.verdict == Verdict.PASSED for s in scores)
