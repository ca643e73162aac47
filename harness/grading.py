"""Grading: one Score per completion, with the task's grader; in one batch, or as completions arrive.

Samples whose prompt did not fit the model were never generated and get the verdict prompt_too_long
without being graded; an exception while grading one sample becomes that sample's verdict, never the
end of the run.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from harness.planning import TaskPlan
from harness.progress import scoring_progress
from harness.prompt_fit import PROMPT_TOO_LONG, too_long_score
from harness.types import Completion, Problem, Score, Scorer, Verdict


def score_completions(
    plan: TaskPlan, completions: Sequence[Completion], progress: bool, context_tokens: Any = None
) -> list[Score]:
    """One Score per completion. Samples whose prompt did not fit were never generated and get the
    verdict prompt_too_long without being graded; an exception while grading one sample becomes that
    sample's verdict."""
    problems = {p.id: p for p in plan.loaded.problems}
    grader = plan.spec.grader
    graded = [c for c in completions if c.finish_reason != PROMPT_TOO_LONG]
    scores: list[Score] | None = None
    if grader.score_many is not None:  # e.g. code execution in a worker pool, with its own progress bar
        try:
            scores = list(grader.score_many([(problems[c.problem_id], c) for c in graded]))
        except Exception:  # a grader bug: find which samples it hits, one at a time below
            scores = None
    if scores is None:
        progressing = scoring_progress(graded, plan.spec.name, progress)
        scores = [_score_one(grader.score, problems[c.problem_id], c) for c in progressing]
    by_key = {(s.problem_id, s.sample_index): s for s in scores}
    return [
        by_key[(c.problem_id, c.sample_index)]
        if c.finish_reason != PROMPT_TOO_LONG
        else too_long_score(c, context_tokens)
        for c in completions
    ]


def _score_one(score: Scorer, problem: Problem, completion: Completion) -> Score:
    try:
        return score(problem, completion)
    except Exception as exc:
        detail = f"grader error (not the model's fault): {type(exc).__name__}: {exc}"[:1000]
        return Score(problem.id, completion.sample_index, Verdict.INFRA_ERROR, None, detail)


def runs_code(plan: TaskPlan) -> bool:
    """Graders that name a sandbox run programs in child processes: safe to call from worker threads.
    Others grade in the calling thread (Math-Verify's timeout is a signal, which only the main thread
    may use, so graded elsewhere an answer would lose its time limit and could change verdict)."""
    return "sandbox" in plan.spec.grader.settings


class StreamingGrader:
    """Grades completions as they arrive, beside generation: code in a pool of worker threads (each
    waits on its sandboxed child processes), everything else at once in the caller's thread. `scores`
    waits for a task's last verdict."""

    def __init__(self, progress: bool, workers: int | None = None) -> None:
        from tqdm import tqdm

        # One more worker than CPUs, as for batch code grading: a thread waits on its child most of the time.
        self._pool = ThreadPoolExecutor(max_workers=workers or (os.cpu_count() or 1) + 1)
        self._results: dict[tuple[str, str, int], Score | Future[Score] | None] = {}
        self._bar = tqdm(total=0, desc="grading", unit="sample", disable=not progress, dynamic_ncols=True)
        self._lock = threading.Lock()
        self._used_pool = False

    def submit(self, plan: TaskPlan, problem: Problem, completion: Completion) -> None:
        key = (completion.task, completion.problem_id, completion.sample_index)
        if completion.finish_reason == PROMPT_TOO_LONG:
            self._results[key] = None  # not graded; its score says what the context was, known later
            return
        with self._lock:
            self._bar.total += 1
        if runs_code(plan):
            self._used_pool = True
            future = self._pool.submit(_score_one, plan.spec.grader.score, problem, completion)
            future.add_done_callback(lambda _: self._advance())
            self._results[key] = future
        else:
            self._results[key] = _score_one(plan.spec.grader.score, problem, completion)
            self._advance()

    def _advance(self) -> None:
        with self._lock:
            self._bar.update(1)

    def scores(self, completions: Sequence[Completion], context_tokens: Any = None) -> list[Score]:
        """The scores of these completions, in their order, once each is graded."""
        scores = []
        for c in completions:
            result = self._results[(c.task, c.problem_id, c.sample_index)]
            if result is None:
                scores.append(too_long_score(c, context_tokens))
            else:
                scores.append(result.result() if isinstance(result, Future) else result)
        return scores

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._bar.close()
        if self._used_pool:  # the code graders' warm runners belonged to the pool's threads
            from harness.scoring.warm_runner import close_orphaned_runners

            close_orphaned_runners()
