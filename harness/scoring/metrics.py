"""Task-level metrics from per-sample scores: accuracy with a bootstrap CI, pass@k and maj@k.

Pure functions, no I/O. Every problem must carry exactly samples 0..n-1: a missing sample is an
error here, never silently averaged away (a run that lost samples must be resumed, not reported).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.types import Score

# Resamples are drawn in blocks so that a large task (thousands of problems) never needs the whole
# resample matrix in memory at once.
_BOOTSTRAP_BLOCK = 1000


class MetricsError(ValueError):
    """The scores handed to compute_metrics do not form a complete problem × sample grid."""


@dataclass(frozen=True)
class TaskMetrics:
    accuracy: float  # mean over all samples: pass@1 averaged over the n samples
    accuracy_ci95: tuple[float, float]  # percentile bootstrap over problems
    pass_at_k: Mapping[int, float]
    maj_at_k: Mapping[int, float]
    n_problems: int
    n_samples: int
    samples_per_problem: int
    verdict_counts: Mapping[str, int]
    per_problem: Mapping[str, tuple[int, int]]  # problem_id -> (correct samples, n)
    bootstrap_seed: int
    bootstrap_resamples: int


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k (Chen et al. 2021): 1 - C(n-c, k) / C(n, k).

    Computed as a running product so that large n never builds huge binomials.
    """
    if n < 1 or not 0 <= c <= n:
        raise ValueError(f"pass_at_k needs n >= 1 and 0 <= c <= n; got n={n}, c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"pass_at_k needs 1 <= k <= n; got k={k} with n={n} samples per problem")
    if n - c < k:
        return 1.0
    # C(n-c, k) / C(n, k) = prod_{i=n-c+1}^{n} (1 - k / i)
    failure = 1.0
    for i in range(n - c + 1, n + 1):
        failure *= 1.0 - k / i
    return 1.0 - failure


def k_values(n: int) -> list[int]:
    """The ks reported for n samples per problem: powers of two up to n, plus n itself."""
    ks = []
    k = 1
    while k <= n:
        ks.append(k)
        k *= 2
    if ks[-1] != n:
        ks.append(n)
    return ks


def _describe(keys: Sequence[tuple[str, int]], limit: int = 5) -> str:
    shown = ", ".join(f"({pid!r}, {idx})" for pid, idx in keys[:limit])
    more = f" and {len(keys) - limit} more" if len(keys) > limit else ""
    return shown + more


def _grid(scores: Sequence[Score], problem_ids: Sequence[str], n: int) -> dict[str, list[Score]]:
    """Arrange scores as problem -> [sample 0..n-1], or raise listing what does not fit."""
    if n < 1:
        raise MetricsError(f"samples per problem must be at least 1, got n={n}")
    if not problem_ids:
        raise MetricsError("no problems to score: the problem list is empty")
    id_counts = Counter(problem_ids)
    repeated = [pid for pid, count in id_counts.items() if count > 1]
    if repeated:
        raise MetricsError(f"problem ids must be unique; repeated: {repeated[:5]}")
    slots: dict[str, list[Score | None]] = {pid: [None] * n for pid in problem_ids}
    unknown: list[tuple[str, int]] = []
    duplicate: list[tuple[str, int]] = []
    for score in scores:
        row = slots.get(score.problem_id)
        if row is None or not 0 <= score.sample_index < n:
            unknown.append((score.problem_id, score.sample_index))
        elif row[score.sample_index] is not None:
            duplicate.append((score.problem_id, score.sample_index))
        else:
            row[score.sample_index] = score
    missing = [(pid, i) for pid, row in slots.items() for i, s in enumerate(row) if s is None]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing: {_describe(missing)}")
    if duplicate:
        problems.append(f"{len(duplicate)} duplicate: {_describe(duplicate)}")
    if unknown:
        problems.append(
            f"{len(unknown)} unknown (problem not in the task or index not in 0..{n - 1}): "
            f"{_describe(unknown)}"
        )
    if problems:
        raise MetricsError(
            f"scores do not cover every problem × sample exactly once (n={n}, "
            f"{len(problem_ids)} problems): "
            + "; ".join(problems)
            + ". Resume the run to fill missing samples instead of reporting partial results."
        )
    return {pid: [s for s in row if s is not None] for pid, row in slots.items()}


def _majority_correct(samples: Sequence[Score]) -> bool:
    """Whether the majority answer among these samples is correct.

    Samples without an extracted answer do not vote. Ties go to the answer that appeared first. The
    voted answer counts as correct if any sample carrying it was judged correct: a pure grader gives
    the same answer the same verdict, except when a sample was truncated after writing it.
    """
    votes: dict[str, int] = {}
    first_seen: dict[str, int] = {}
    correct: dict[str, bool] = {}
    for score in samples:
        answer = score.extracted.strip() if score.extracted is not None else ""
        if not answer:
            continue
        votes[answer] = votes.get(answer, 0) + 1
        first_seen.setdefault(answer, score.sample_index)
        correct[answer] = correct.get(answer, False) or score.correct
    if not votes:
        return False
    winner = min(votes, key=lambda a: (-votes[a], first_seen[a]))
    return correct[winner]


def _bootstrap_ci(per_problem: np.ndarray, seed: int, resamples: int) -> tuple[float, float]:
    if resamples < 1:
        raise MetricsError(f"bootstrap_resamples must be at least 1, got {resamples}")
    rng = np.random.default_rng(seed)
    size = per_problem.shape[0]
    means = np.empty(resamples)
    for start in range(0, resamples, _BOOTSTRAP_BLOCK):
        stop = min(start + _BOOTSTRAP_BLOCK, resamples)
        picks = rng.integers(0, size, size=(stop - start, size))
        means[start:stop] = per_problem[picks].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(lo), float(hi)


def compute_metrics(
    scores: Sequence[Score],
    problem_ids: Sequence[str],
    n: int,
    bootstrap_seed: int = 0,
    bootstrap_resamples: int = 10000,
) -> TaskMetrics:
    """Aggregate per-sample scores of one task into TaskMetrics (see the module docstring)."""
    grid = _grid(scores, problem_ids, n)
    correct_counts = {pid: sum(s.correct for s in row) for pid, row in grid.items()}
    ks = k_values(n)
    pass_values = {k: sum(pass_at_k(n, c, k) for c in correct_counts.values()) / len(grid) for k in ks}
    maj_values = {k: sum(_majority_correct(row[:k]) for row in grid.values()) / len(grid) for k in ks}
    per_problem_accuracy = np.array([correct_counts[pid] / n for pid in problem_ids], dtype=float)
    verdicts = Counter(_verdict_name(s) for row in grid.values() for s in row)
    return TaskMetrics(
        accuracy=float(per_problem_accuracy.mean()),
        accuracy_ci95=_bootstrap_ci(per_problem_accuracy, bootstrap_seed, bootstrap_resamples),
        pass_at_k=pass_values,
        maj_at_k=maj_values,
        n_problems=len(grid),
        n_samples=len(grid) * n,
        samples_per_problem=n,
        verdict_counts=dict(sorted(verdicts.items())),
        per_problem={pid: (correct_counts[pid], n) for pid in problem_ids},
        bootstrap_seed=bootstrap_seed,
        bootstrap_resamples=bootstrap_resamples,
    )


def _verdict_name(score: Score) -> str:
    verdict: Any = score.verdict
    return str(getattr(verdict, "value", verdict))


def metrics_to_dict(m: TaskMetrics) -> dict[str, Any]:
    """JSON-ready form used in score files: "pass@4", "maj@4", CI as a [lo, hi] list."""
    out: dict[str, Any] = {
        "accuracy": m.accuracy,
        "accuracy_ci95": [m.accuracy_ci95[0], m.accuracy_ci95[1]],
        "n_problems": m.n_problems,
        "n_samples": m.n_samples,
        "samples_per_problem": m.samples_per_problem,
    }
    out.update({f"pass@{k}": v for k, v in m.pass_at_k.items()})
    out.update({f"maj@{k}": v for k, v in m.maj_at_k.items()})
    out["verdict_counts"] = dict(m.verdict_counts)
    out["per_problem"] = {pid: [c, total] for pid, (c, total) in m.per_problem.items()}
    out["bootstrap"] = {"seed": m.bootstrap_seed, "resamples": m.bootstrap_resamples}
    return out
