"""Do a score file's numbers follow from what it records? Checks for files read back from disk.

A score file carries its metrics and, beside them, the record they were computed from: the per-problem
tally (correct samples of n for every problem) and the samples file. A file edited by hand, cut off or
mixed up with another run's samples says one thing in its metrics and another in its record. Each check
returns the discrepancies it finds as sentences (an empty list means consistent):

- `metrics_findings`: accuracy, pass@k, the counts and the sizes recomputed from the per-problem tally;
  the confidence interval must contain the accuracy and lie within the per-problem accuracies. Cheap:
  the leaderboard runs it on every file.
- `samples_findings`: the samples file against the tally and the counts (every problem × sample once, the
  same correct samples per problem, the same verdicts and generated tokens).
- `recomputed_findings`: every metric recomputed from the samples with the scoring code itself, the
  bootstrap interval included (same seed, same resamples). Exact but costs a bootstrap, so it runs where
  one file is looked at (`harness show`), not over a whole results folder.

Pure functions: no I/O.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, cast

from harness.scoring.metrics import compute_metrics, metrics_to_dict, pass_at_k
from harness.types import Score, Verdict

CORRECT_VERDICTS = tuple(sorted(v.value for v in Verdict if v.counts_as_correct))
_TOLERANCE = 1e-9


def _differs(stored: Any, expected: float) -> bool:
    return not isinstance(stored, (int, float)) or abs(float(stored) - expected) > _TOLERANCE


def _tally(metrics: Mapping[str, Any]) -> tuple[dict[str, tuple[int, int]], list[str]]:
    raw = metrics.get("per_problem")
    if not isinstance(raw, Mapping) or not raw:
        return {}, ["there is no per-problem record to check the metrics against"]
    tally: dict[str, tuple[int, int]] = {}
    for pid, pair in raw.items():
        ok = isinstance(pair, list) and len(pair) == 2 and all(type(v) is int for v in pair)
        if not ok or not 0 <= pair[0] <= pair[1]:
            return {}, [f"per-problem entry {pid!r} is {pair!r}, not [correct, n] with 0 ≤ correct ≤ n"]
        tally[str(pid)] = (pair[0], pair[1])
    return tally, []


def metrics_findings(
    metrics: Mapping[str, Any], counts: Mapping[str, int], protocol: Mapping[str, Any]
) -> list[str]:
    """The stored metrics against the per-problem tally (see the module docstring)."""
    tally, findings = _tally(metrics)
    if findings:
        return findings
    sizes = {total for _, total in tally.values()}
    if sizes != {metrics.get("samples_per_problem")}:
        return [
            f"samples_per_problem is {metrics.get('samples_per_problem')} but the per-problem record has "
            f"{sorted(sizes)} samples per problem"
        ]
    n = sizes.pop()
    expected_sizes = {"n_problems": len(tally), "n_samples": len(tally) * n}
    findings += [
        f"{key} is {metrics.get(key)} but the per-problem record has {value}"
        for key, value in expected_sizes.items()
        if metrics.get(key) != value
    ]
    solved = [correct / n for correct, _ in tally.values()]
    accuracy = sum(solved) / len(solved)
    if _differs(metrics.get("accuracy"), accuracy):
        findings.append(f"accuracy is {metrics.get('accuracy')} but the per-problem record gives {accuracy}")
    for key in sorted(k for k in metrics if k.startswith("pass@")):
        k = int(key.removeprefix("pass@"))
        value = sum(pass_at_k(n, c, k) for c, _ in tally.values()) / len(tally) if k <= n else None
        if value is None or _differs(metrics[key], float(value)):
            findings.append(f"{key} is {metrics[key]} but the per-problem record gives {value}")
    findings += _interval_findings(metrics.get("accuracy_ci95"), accuracy, solved)
    findings += _count_findings(metrics, counts, tally)
    sampling, data = protocol.get("sampling", {}), protocol.get("data", {})
    if "n" in sampling and sampling["n"] != n:
        findings.append(f"the protocol says n={sampling['n']} but the metrics have {n} samples per problem")
    if "problem_count" in data and data["problem_count"] != len(tally):
        findings.append(
            f"the protocol says {data['problem_count']} problems but the metrics have {len(tally)}"
        )
    return findings


def _interval_findings(interval: Any, accuracy: float, solved: Sequence[float]) -> list[str]:
    # A percentile bootstrap of a mean lies within the per-problem values and, in practice, around the
    # mean itself; anything else was not computed from this record.
    lo, hi = interval if isinstance(interval, list) and len(interval) == 2 else (None, None)
    plausible = (
        isinstance(lo, (int, float))
        and isinstance(hi, (int, float))
        and min(solved) - _TOLERANCE <= lo <= accuracy + _TOLERANCE
        and accuracy - _TOLERANCE <= hi <= max(solved) + _TOLERANCE
    )
    return [] if plausible else [f"the 95% CI {interval} does not fit the accuracy {accuracy} of this record"]


def _count_findings(
    metrics: Mapping[str, Any], counts: Mapping[str, int], tally: Mapping[str, tuple[int, int]]
) -> list[str]:
    findings = []
    samples = sum(total for _, total in tally.values())
    if sum(counts.values()) != samples:
        findings.append(f"the verdict counts add up to {sum(counts.values())} samples, not {samples}")
    correct = sum(counts.get(v, 0) for v in CORRECT_VERDICTS)
    if correct != sum(c for c, _ in tally.values()):
        findings.append(
            f"the verdict counts have {correct} correct samples but the per-problem record has "
            f"{sum(c for c, _ in tally.values())}"
        )
    stored = metrics.get("verdict_counts")
    if stored is not None and dict(stored) != dict(counts):
        findings.append(f"metrics.verdict_counts {dict(stored)} differs from counts {dict(counts)}")
    return findings


def samples_findings(
    rows: Sequence[Any], metrics: Mapping[str, Any], counts: Mapping[str, int], generated_tokens: Any
) -> list[str]:
    """The samples file's rows (SampleRow) against the tally, the counts and the generated tokens."""
    tally, findings = _tally(metrics)
    if findings:
        return findings
    expected = {(pid, i) for pid, (_, total) in tally.items() for i in range(total)}
    keys = Counter((row.problem_id, row.sample_index) for row in rows)
    missing = sorted(expected - set(keys))
    extra = sorted(set(keys) - expected)
    twice = sorted(key for key, times in keys.items() if times > 1)
    for what, found in (("missing from", missing), ("not in the per-problem record but in", extra),
                        ("repeated in", twice)):  # fmt: skip
        if found:
            findings.append(f"{len(found)} samples are {what} the samples file (first: {found[0]})")
    if findings:
        return findings
    solved = Counter(row.problem_id for row in rows if row.correct)
    wrong_tally = [pid for pid, (c, _) in tally.items() if solved[pid] != c]
    if wrong_tally:
        pid = wrong_tally[0]
        findings.append(
            f"{len(wrong_tally)} problems have other correct counts in the samples file than in the "
            f"per-problem record (first: {pid!r}: {solved[pid]} vs {tally[pid][0]})"
        )
    verdicts = dict(Counter(row.verdict for row in rows))
    if verdicts != {k: v for k, v in counts.items() if v}:
        findings.append(f"the samples file has the verdicts {verdicts}, the score file counts {dict(counts)}")
    mislabelled = [row for row in rows if row.correct != (row.verdict in CORRECT_VERDICTS)]
    if mislabelled:
        row = mislabelled[0]
        findings.append(
            f"sample ({row.problem_id!r}, {row.sample_index}) is {row.verdict} yet correct={row.correct}"
        )
    tokens = sum(row.output_tokens for row in rows)
    if tokens != generated_tokens:
        findings.append(
            f"the samples have {tokens} output tokens, cost.generated_tokens says {generated_tokens}"
        )
    return findings


def recomputed_findings(rows: Sequence[Any], metrics: Mapping[str, Any]) -> list[str]:
    """Every metric of `metrics` recomputed from the rows by the scoring code (exact; one bootstrap)."""
    bootstrap = metrics.get("bootstrap") or {}
    problem_ids = list(metrics.get("per_problem") or {})
    scores = [
        # The stored verdict string stands for the enum member of the same value (Verdict is a str enum).
        Score(row.problem_id, row.sample_index, cast(Verdict, row.verdict), row.extracted)
        for row in rows
    ]
    redone = metrics_to_dict(
        compute_metrics(
            scores,
            problem_ids,
            int(metrics.get("samples_per_problem") or 1),
            bootstrap_seed=int(bootstrap.get("seed", 0)),
            bootstrap_resamples=int(bootstrap.get("resamples", 10000)),
        )
    )
    return [
        f"{key} is {metrics.get(key)} but the samples give {value}"
        for key, value in redone.items()
        if not _same(metrics.get(key), value)
    ]


def _same(stored: Any, value: Any) -> bool:
    if isinstance(value, float):
        return not _differs(stored, value)
    if isinstance(value, list):
        return (
            isinstance(stored, list)
            and len(stored) == len(value)
            and all(_same(s, v) for s, v in zip(stored, value, strict=True))
        )
    return bool(stored == value)
