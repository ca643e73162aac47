"""Reproducing a reported figure: the config that runs a reference row's protocol, and the verdict after.

`reproduction_config` turns a reference row (reference_rows.py) into an eval config that sets exactly
what the source states (sampling, max tokens, n, prompt, system prompt, task options) and leaves the
rest to the task's defaults. `compare_to_reference` reads the run's score file and says how far the
measured value is from the reported one and whether the gap is within sampling noise.

Which interval decides "consistent". The reported figure was measured on the same problems, so which
problems were drawn is not a source of difference; sampling is, on both sides. For pass@1 with two or
more samples per problem the test is the difference against its standard error on these problems,
sqrt(se_ours² + se_theirs²), with se_theirs taken from our own within-problem variance and the n the
source states (scoring/stats.py's fixed-set view; Student t with Welch-Satterthwaite degrees of
freedom). With one sample per problem, and for maj@k and pass@k, the within-problem part cannot be
separated and the score file's 95% bootstrap interval over problems is used instead: a wider, more
lenient check, and the output says which one was applied.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.reporting.reference_rows import ReferenceRow
from harness.results import ScoreFile, read_samples
from harness.scoring.metrics import compute_metrics
from harness.scoring.stats import t_quantile, variance_split
from harness.types import Score, Verdict


class ReproduceError(ValueError):
    """A reference row that cannot be reproduced as it stands (no protocol, no task, unknown metric)."""


def metric_key(reported_metric: str) -> str:
    """The score file's metric for a reported one: pass@1 is `accuracy`; cons@k and maj@k are `maj@k`."""
    name = reported_metric.strip().lower()
    if name == "pass@1":
        return "accuracy"
    match = re.fullmatch(r"(pass|cons|maj)@(\d+)", name)
    if match is None:
        raise ReproduceError(f"metric {reported_metric!r} has no counterpart here (pass@k, cons@k or maj@k)")
    kind, k = match.groups()
    return f"{'pass' if kind == 'pass' else 'maj'}@{k}"


def reproduction_config(
    row: ReferenceRow, model_path: str, backend: str, name: str | None, output: Path
) -> dict[str, Any]:
    """The eval config (as a YAML-ready mapping) that runs `row`'s stated protocol on one model."""
    if row.task is None:
        raise ReproduceError(f"reference {row.id} names no harness task; it cannot be rerun here")
    protocol = row.protocol
    if protocol is None:
        raise ReproduceError(
            f"reference {row.id}: its source states no protocol (sampling, max tokens, n, prompt), so "
            "there is nothing exact to rerun; add a `protocol:` to the row where the source states one"
        )
    metric = metric_key(row.metric)
    generation = {
        key: getattr(protocol, key)
        for key in ("temperature", "top_p", "max_new_tokens", "n")
        if getattr(protocol, key) is not None
    }
    k = int(metric.split("@")[1]) if "@" in metric else 1
    if generation.get("n", 1) < k:
        raise ReproduceError(
            f"reference {row.id}: {row.metric} needs n ≥ {k}, the protocol states {generation}"
        )
    task: dict[str, Any] = {"name": row.task, **dict(protocol.task_options)}
    for key in ("prompt_template", "system_prompt"):
        if key in protocol.stated and getattr(protocol, key) is not None:
            task[key] = getattr(protocol, key)
    return {
        "model": {
            "name": name or Path(model_path).name or model_path,
            "backend": backend,
            "path": model_path,
        },
        "generation": generation,
        "tasks": [task],
        "output": str(output),
    }


@dataclass(frozen=True)
class Reproduction:
    reference: ReferenceRow
    metric: str  # the score file's key
    measured: float  # fraction
    interval: tuple[float, float] | None  # 95% interval of the measured value
    interval_kind: str  # which interval, in words
    consistent: bool | None  # None when no interval could be formed
    test: str  # what decided `consistent`, in words
    protocol_differences: tuple[str, ...]  # where the run departs from the stated protocol
    n_problems: int
    samples_per_problem: int


def protocol_departures(row: ReferenceRow, record: ScoreFile) -> list[str]:
    """The stated settings the run did not use (a --set or --limit on top of the reproduction)."""
    stated = row.protocol
    if stated is None:
        return []
    sampling = record.protocol.get("sampling", {})
    prompt = record.protocol.get("prompt", {})
    found: list[tuple[str, Any, Any]] = [
        (key, sampling.get(key), getattr(stated, key))
        for key in ("temperature", "top_p", "max_new_tokens", "n")
        if getattr(stated, key) is not None
    ]
    found += [
        (key, prompt.get(field), getattr(stated, key))
        for key, field in (("prompt_template", "template"), ("system_prompt", "system_prompt"))
        if key in stated.stated
    ]
    options = record.protocol.get("data", {}).get("options", {})
    found += [(f"task option {k}", options.get(k), v) for k, v in stated.task_options.items()]
    return [f"{key} {ours!r} (reported under {theirs!r})" for key, ours, theirs in found if ours != theirs]


def _majority_interval(score_path: Path, record: ScoreFile, k: int) -> tuple[float, float]:
    """maj@k's 95% bootstrap interval over problems: one 0/1 outcome per problem, resampled."""
    rows = read_samples(score_path, record)
    outcomes = []
    for pid in record.metrics["per_problem"]:
        scores = [Score(r.problem_id, r.sample_index, Verdict(r.verdict), r.extracted) for r in rows
                  if r.problem_id == pid]  # fmt: skip
        scores.sort(key=lambda s: s.sample_index)
        majority = compute_metrics(scores, [pid], len(scores), bootstrap_resamples=1).maj_at_k.get(k)
        verdict = Verdict.CORRECT if majority else Verdict.WRONG
        outcomes.append(Score(pid, 0, verdict, None))
    bootstrap = record.metrics.get("bootstrap") or {}
    metrics = compute_metrics(
        outcomes,
        list(record.metrics["per_problem"]),
        1,
        bootstrap_seed=int(bootstrap.get("seed", 0)),
        bootstrap_resamples=int(bootstrap.get("resamples", 10000)),
    )
    return metrics.accuracy_ci95


def _sampling_test(
    record: ScoreFile, reported: float, reported_n: int | None
) -> tuple[tuple[float, float], bool, str] | None:
    """The fixed-set check of the module docstring; None when the within part cannot be separated."""
    per_problem = list(record.metrics["per_problem"].values())
    totals = {total for _, total in per_problem}
    if len(totals) != 1 or len(per_problem) < 2 or totals == {1}:
        return None
    n = totals.pop()
    split = variance_split([correct for correct, _ in per_problem], n)
    if split.se_fixed is None or split.fixed_df is None:
        return None
    df = max(1, math.floor(split.fixed_df))
    quantile = t_quantile(0.975, df)
    own = (
        max(0.0, split.accuracy - quantile * split.se_fixed),
        min(1.0, split.accuracy + quantile * split.se_fixed),
    )
    theirs = split.se_fixed * math.sqrt(n / (reported_n or n))
    allowed = quantile * math.hypot(split.se_fixed, theirs)
    consistent = abs(split.accuracy - reported) <= allowed
    test = (
        f"|difference| ≤ {100 * allowed:.1f} points, the 95% margin of sampling noise on both sides "
        f"({n} samples per problem here, {reported_n or n} reported; same problems)"
    )
    return own, consistent, test


def compare_to_reference(row: ReferenceRow, score_path: Path, record: ScoreFile) -> Reproduction:
    """Measured against reported, with the interval and the check the module docstring describes."""
    key = metric_key(row.metric)
    if key not in record.metrics:
        raise ReproduceError(f"{score_path} has no {key} (for {row.metric}); was it run with enough samples?")
    measured = float(record.metrics[key])
    reported = row.value / 100
    n_problems = int(record.metrics["n_problems"])
    per_problem_n = int(record.metrics["n_samples"]) // max(n_problems, 1)
    sampling = (
        _sampling_test(record, reported, row.protocol.n if row.protocol else None)
        if key == "accuracy"
        else None
    )
    if sampling is not None:
        interval, consistent, test = sampling
        kind = "on these problems (sampling only)"
    elif key == "accuracy" or key.startswith("maj@"):
        lo, hi = (record.metrics["accuracy_ci95"] if key == "accuracy"
                  else _majority_interval(score_path, record, int(key.split("@")[1])))  # fmt: skip
        interval, kind = (float(lo), float(hi)), "bootstrap over problems"
        consistent = interval[0] <= reported <= interval[1]
        test = "the reported value lies inside the measured 95% interval over problems (lenient)"
    else:
        interval, kind, consistent = None, "none", None
        test = f"no interval for {key} in a score file; not judged"
    return Reproduction(
        reference=row,
        metric=key,
        measured=measured,
        interval=interval,
        interval_kind=kind,
        consistent=consistent,
        test=test,
        protocol_differences=tuple(protocol_departures(row, record)),
        n_problems=n_problems,
        samples_per_problem=per_problem_n,
    )


def format_reproduction(r: Reproduction, score_path: Path) -> str:
    ref = r.reference
    where = f", {ref.source_where}" if ref.source_where else ""
    interval = "" if r.interval is None else (
        f"  95% CI [{100 * r.interval[0]:.1f}, {100 * r.interval[1]:.1f}] {r.interval_kind}"
    )  # fmt: skip
    verdict = {True: "yes", False: "NO", None: "not judged"}[r.consistent]
    lines = [
        f"reference    {ref.id}: {ref.model} on {ref.benchmark}, {ref.metric}",
        f"reported     {ref.value:.1f}%  ({ref.source_title}{where})",
        f"measured     {100 * r.measured:.1f}%{interval}",
        f"             {r.metric}, {r.n_problems} problems × {r.samples_per_problem} samples ({score_path})",
        f"difference   {100 * r.measured - ref.value:+.1f} points (measured − reported)",
        f"consistent   {verdict}: {r.test}",
    ]
    if r.protocol_differences:
        warning = "WARNING: this run departs from the reported protocol: " + "; ".join(r.protocol_differences)
        lines = [warning, "", *lines, "", warning]
    return "\n".join(lines)


def config_comment(row: ReferenceRow) -> str:
    """The YAML header of a generated config: what it reproduces and where the protocol is stated."""
    stated = row.protocol.stated_in if row.protocol else "not stated"
    return (
        f"# Reproduces reference {row.id}: {row.model} on {row.benchmark}, {row.metric} reported "
        f"{row.value:.1f}% ({row.citation}).\n# Protocol as stated: {stated}\n"
    )
