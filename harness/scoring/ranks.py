"""Rank intervals: which places on a task's leaderboard the data supports for each model.

Several models answered the same problems. Each bootstrap replicate recomputes every model's accuracy
on one common resample, ranks the models (1 = best; equal accuracies share the better rank), and a
model's rank interval is the central `level` range of its ranks over the replicates (marginal per
model, not simultaneous). Two models whose intervals overlap are not told apart by the data: a tie.

The two views of stats.py decide what is resampled:
- population (default): the problems, with replacement, the same draw for every model (pairing keeps
  what the models share, a hard problem is hard for all). Each drawn problem brings its own observed
  samples, so sampling noise is already in the replicate; resampling the samples too would count
  that noise twice (the two-stage bootstrap's known overstatement).
- fixed: the problems stay; each problem's n samples are resampled, i.e. c* ~ Binomial(n, c / n).
  Needs n >= 2 (one sample shows no sampling variation).
Resampling n samples with replacement understates a problem's sampling variance by (n - 1) / n (the
estimators of stats.py are unbiased, the plain bootstrap is not; a quarter with n = 4), so in the
fixed view each replicate's deviation from the observed accuracy is scaled back by sqrt(n / (n - 1)).
Over problems the shrinkage is (m - 1) / m, under 4% from 30 problems, and is left alone: rescaling
would move a replicate where two models tie off its tie, so a model that is never better on any
problem could rank first. Models with identical results tie in every replicate over problems and
share a rank; on a fixed problem set their samples are redrawn independently, as a rerun would.
The intervals are marginal and conservative: simulated coverage of the true rank was 98.8% or more
(tests/scoring/test_stats_simulation.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from harness.scoring.stats import StatsError, View

_BLOCK = 500  # replicates per block, so memory stays small for many problems


@dataclass(frozen=True)
class RankInterval:
    model: str
    accuracy: float
    rank: int  # observed rank: 1 + the number of models with a higher accuracy
    best: int  # interval of plausible ranks, best..worst
    worst: int


def _grid(results: Mapping[str, Mapping[str, Sequence[int]]]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """models, correct counts and sample counts as (model × problem) arrays on a common problem order."""
    models = list(results)
    if len(models) < 2:
        raise StatsError(f"rank intervals need at least 2 models, got {len(models)}")
    problems = sorted(results[models[0]])
    for model in models[1:]:
        if set(results[model]) != set(problems):
            differ = sorted(set(results[model]) ^ set(problems))
            raise StatsError(
                f"model {model!r} covers different problems than {models[0]!r} (e.g. {differ[:3]}); "
                "rank intervals need every model on the same problems"
            )
    if not problems:
        raise StatsError("rank intervals need at least one problem")
    pairs = np.array([[results[model][pid] for pid in problems] for model in models], dtype=np.int64)
    correct, totals = pairs[..., 0], pairs[..., 1]
    if np.any(totals < 1) or np.any(correct < 0) or np.any(correct > totals):
        raise StatsError("per-problem results must be (correct, n) with 0 <= correct <= n and n >= 1")
    return models, correct, totals


def _ranks(means: np.ndarray) -> np.ndarray:
    """Rank of each model (rows) in each replicate (columns): 1 + models strictly better."""
    return 1 + np.sum(means[None, :, :] > means[:, None, :], axis=1)


def _replicate_means(
    correct: np.ndarray, totals: np.ndarray, view: View, count: int, rng: np.random.Generator
) -> np.ndarray:
    rates = correct / totals
    m = rates.shape[1]
    if view == "population":
        picks = rng.integers(0, m, size=(count, m))
        return rates[:, picks].mean(axis=2)
    draws = rng.binomial(totals[:, None, :], rates[:, None, :], size=(rates.shape[0], count, m))
    return (draws / totals[:, None, :]).mean(axis=2)


def rank_intervals(
    results: Mapping[str, Mapping[str, Sequence[int]]],
    view: View = "population",
    level: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> list[RankInterval]:
    """Each model's rank interval on one task, best observed rank first (see the module docstring).

    results: model -> problem id -> (correct samples, samples), as in a score file's per_problem.
    """
    if not 0 < level < 1 or resamples < 1:
        raise StatsError(f"need 0 < level < 1 and resamples >= 1; got {level}, {resamples}")
    models, correct, totals = _grid(results)
    if view == "fixed" and np.any(totals < 2):
        raise StatsError("fixed-problem rank intervals resample each problem's samples: need n >= 2")
    observed = (correct / totals).mean(axis=1)
    # Undo the (n - 1) / n shrinkage of resampled samples (module docstring); problems keep theirs.
    inflation = np.sqrt(totals / (totals - 1)).mean(axis=1)[:, None] if view == "fixed" else 1.0
    rng = np.random.default_rng(seed)
    ranks = np.empty((len(models), resamples), dtype=np.int64)
    for start in range(0, resamples, _BLOCK):
        count = min(_BLOCK, resamples - start)
        means = _replicate_means(correct, totals, view, count, rng)
        means = observed[:, None] + (means - observed[:, None]) * inflation
        ranks[:, start : start + count] = _ranks(means)
    tail = (1 - level) / 2
    best = np.quantile(ranks, tail, axis=1, method="inverted_cdf")
    worst = np.quantile(ranks, 1 - tail, axis=1, method="inverted_cdf")
    observed_rank = _ranks(observed[:, None])[:, 0]
    intervals = [
        RankInterval(model, float(observed[i]), int(observed_rank[i]), int(best[i]), int(worst[i]))
        for i, model in enumerate(models)
    ]
    return sorted(intervals, key=lambda r: (r.rank, r.model))
