"""The hostile corpus (hostile_programs.py), graded in both sandbox modes: each program gets its verdict
and its tampering flags, honest programs get none, and nothing of one program reaches the next."""

from __future__ import annotations

import os

import pytest

from harness.scoring import sandbox, warm_runner
from harness.scoring.code_pool import grade_many
from harness.scoring.sandbox import SandboxLimits, sandbox_mode
from harness.types import Completion
from tests.scoring.hostile_programs import CORPUS, problem_for

# The output cap stays at its default (32 MiB) so that the 30 MB floods reach the comparison.
LIMITS = SandboxLimits(per_test_timeout_s=1.5, memory_mb=512, disk_mb=64, wall_guard_s=8)


@pytest.fixture(params=["bwrap", "subprocess"])
def mode(request, monkeypatch):
    if os.geteuid() != 0:
        # Several programs signal every process they can reach: without a uid of their own that
        # includes the harness (the sandbox's documented limit without root).
        pytest.skip("without root the programs would run as the harness's own user and could kill it")
    if request.param == "bwrap" and not sandbox.bwrap_works():
        pytest.skip("bubblewrap is not usable on this machine (apt-get install -y bubblewrap)")
    warm_runner.close_all()
    monkeypatch.setenv("HARNESS_SANDBOX", request.param)
    sandbox_mode.cache_clear()
    yield request.param
    warm_runner.close_all()
    sandbox_mode.cache_clear()


def test_the_corpus_is_big_and_covers_every_style() -> None:
    assert len(CORPUS) >= 40
    assert {p.style for p in CORPUS} == {"stdio", "functional", "asserts"}
    assert len({p.name for p in CORPUS}) == len(CORPUS)


@pytest.mark.slow
def test_every_hostile_program_gets_its_verdict_and_flags(mode) -> None:
    jobs = [
        (problem_for(p), Completion("hostile", problem_for(p).id, i, f"```python\n{p.code}\n```", 0, "stop"))
        for i, p in enumerate(CORPUS)
    ]
    scores = grade_many(jobs, workers=3, progress=False, limits=LIMITS)
    wrong = []
    for program, score in zip(CORPUS, scores, strict=True):
        flags = set(score.tampering)
        if score.verdict.value != program.verdict or flags != program.flags:
            wrong.append(f"{program.name}: {score.verdict.value} {sorted(flags)} ({score.detail})")
        if program.tampering and not flags:
            wrong.append(f"{program.name}: tampering but not flagged")
    assert wrong == []
