"""Grading: one Score per completion, with the task's grader.

Samples whose prompt did not fit the model were never generated and get the verdict prompt_too_long
without being graded; an exception while grading one sample becomes that sample's verdict, never the
end of the run.
"""

from __future__ import annotations

from collections.abc import Sequence
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
