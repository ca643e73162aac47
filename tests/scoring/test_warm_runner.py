"""Code runners: a warm one per grading thread, collected when its thread ends; a cold one per solution."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.scoring import warm_runner
from harness.scoring.code_grader import grade_stdio
from harness.types import Verdict

ECHO = [{"input": "7\n", "output": "7"}]


def registered() -> set[warm_runner.WarmRunner]:
    with warm_runner._all_lock:
        return set(warm_runner._all_runners)


def my_children() -> set[int]:
    children = set()
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[1] == str(os.getpid()) and fields[0] != "Z":  # field 4 of stat is the parent pid
            children.add(int(entry.name))
    return children


def in_a_thread(work: Any) -> Any:
    box: list[Any] = []
    thread = threading.Thread(target=lambda: box.append(work()))
    thread.start()
    thread.join(timeout=120)
    assert not thread.is_alive()
    return box[0]


@pytest.fixture
def warm_only() -> Iterator[None]:
    if not warm_runner.warm_enabled():
        pytest.skip("no throwaway uid here (not root), so there are no warm runners")
    warm_runner.close_all()
    yield
    warm_runner.close_all()


def test_a_thread_reports_the_capabilities_of_its_own_runner_only(warm_only: None) -> None:
    def grade_and_report() -> tuple[Any, Any]:
        before = warm_runner.runner_capabilities()
        assert grade_stdio("print(input())", ECHO).verdict == Verdict.PASSED
        return before, warm_runner.runner_capabilities()

    before, after = in_a_thread(grade_and_report)
    assert before is None
    assert after is not None and after["uid_drop"] is True and set(after) >= {"namespaces", "seccomp"}
    assert warm_runner.runner_capabilities() is None  # this thread has not graded anything


def test_the_runner_of_a_finished_thread_is_closed_when_the_next_one_starts(warm_only: None) -> None:
    def grade_and_keep() -> warm_runner.WarmRunner:
        assert grade_stdio("print(input())", ECHO).verdict == Verdict.PASSED
        runner: warm_runner.WarmRunner = warm_runner._local.runner
        return runner

    orphan = in_a_thread(grade_and_keep)
    assert orphan in registered() and not orphan.owner.is_alive()
    assert grade_stdio("print(input())", ECHO).verdict == Verdict.PASSED  # starts this thread's runner
    assert orphan not in registered()
    assert orphan.proc.poll() is not None  # killed and reaped, not left to the end of the process
    assert warm_runner._local.runner in registered()


def test_cold_runners_serve_one_solution_and_go_with_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(warm_runner.WARM_VAR, "0")
    assert not warm_runner.warm_enabled()
    before, children = registered(), my_children()
    results = [grade_stdio("print(input())", ECHO) for _ in range(2)]
    assert [r.verdict for r in results] == [Verdict.PASSED, Verdict.PASSED]
    assert registered() == before  # nothing kept for later solutions
    assert my_children() == children  # and each runner's processes are gone with its solution
