"""Plain-text summaries for the terminal: the end of a run, the task list, one score file."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.cost.block import describe_cost
from harness.pipeline import TaskOutcome
from harness.registry import TaskRegistry
from harness.reporting.compare import Comparison
from harness.results import SampleRow, ScoreFile
from harness.scoring.stats import samples_needed, variance_split
from harness.sharding import Shard


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=False)]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip()
        for row in [header, ["-" * w for w in widths], *rows]
    ]
    return "\n".join(lines)


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def format_ci(metrics: Mapping[str, Any]) -> str:
    ci = metrics.get("accuracy_ci95")
    return f"[{percent(ci[0])}, {percent(ci[1])}]" if ci else "-"


def format_run_summary(outcomes: Sequence[TaskOutcome], output: Path, shard: Shard | None) -> str:
    if shard is not None:
        done = sum(o.samples_done for o in outcomes)
        return (
            f"shard {shard.index}/{shard.count}: {done} samples journaled under {output / '.journal'}; "
            "run `harness merge` with the same config once every shard has finished"
        )
    rows = []
    for outcome in outcomes:
        m = outcome.metrics
        rows.append(
            [
                outcome.task,
                percent(m.get("accuracy")),
                format_ci(m),
                f"{m.get('n_problems', '-')}×{m.get('samples_per_problem', '-')}",
                str(outcome.score_file),
            ]
        )
    table = format_table(["task", "accuracy %", "95% CI", "problems×n", "score file"], rows)
    return f"\nscore files written under {output}/\n{table}"


def format_task_list(registry: TaskRegistry) -> str:
    rows = []
    for name in sorted(registry.tasks):
        entry = registry.tasks[name]
        spec = entry.spec
        source = spec.source.hub_id or (
            Path(spec.source.bundled_file).name if spec.source.bundled_file else "-"
        )
        count = "-" if spec.problem_count is None else str(spec.problem_count)
        rows.append([name, spec.version, count, source, spec.description])
    text = format_table(["task", "version", "problems", "source", "description"], rows)
    for failure in registry.failures:
        text += f"\nplugin {failure.plugin} failed to load: {failure.reason}"
    return text


def format_score_file(
    path: Path, record: ScoreFile, rows: Sequence[SampleRow] | None = None, findings: Sequence[str] = ()
) -> str:
    """One score file for people. `rows` (the samples file, None when unreadable) add what the metrics
    do not say, such as how many samples were cut at max_new_tokens; `findings` (from
    results.check_score_file) mark a file whose numbers do not add up, first and last."""
    warning = [
        "WARNING: the numbers in this file do not add up; do not trust them:",
        *(f"  - {finding}" for finding in findings),
    ]
    lines = [*warning, ""] if findings else []
    lines += _score_file_lines(path, record, rows, consistent=not findings)
    if findings:
        lines += ["", *warning]
    return "\n".join(lines)


def _verdict_text(record: ScoreFile, rows: Sequence[SampleRow] | None) -> str:
    cut = Counter(row.verdict for row in rows or () if row.finish_reason == "length")
    parts = []
    for verdict, count in sorted(record.counts.items()):
        if count:
            note = f" ({cut[verdict]} of them cut at max_new_tokens)" if cut[verdict] else ""
            parts.append(f"{verdict} {count}{note}")
    return ", ".join(parts)


def _score_file_lines(
    path: Path, record: ScoreFile, rows: Sequence[SampleRow] | None, consistent: bool
) -> list[str]:
    m = record.metrics
    p = record.protocol
    sampling = p["sampling"]
    lines = [
        f"score file   {path}",
        f"task         {record.task['name']} v{record.task['version']}   run {record.run_id}   "
        f"created {record.created_at}",
        f"model        {record.model['name']} ({record.model['backend']}: {record.model['path']}, "
        f"{record.model['dtype']} on {record.model['device']}, revision {record.model['revision']})",
        f"protocol     {p['hash']}   {p['data']['problem_count']} problems × n={sampling['n']}, "
        f"temperature {sampling['temperature']}, top_p {sampling['top_p']}, "
        f"max_new_tokens {sampling['max_new_tokens']}, "
        f"grader {p['grader']['name']} v{p['grader']['version']}",
        "",
        f"accuracy     {percent(m['accuracy'])}%  95% CI {format_ci(m)}",
    ]
    ks = sorted(
        (key for key in m if key.startswith(("pass@", "maj@"))),
        key=lambda k: (k.split("@")[0] != "pass", int(k.split("@")[1])),
    )
    if ks:
        lines.append("             " + "  ".join(f"{k} {percent(m[k])}" for k in ks))
    if consistent:  # the precision of numbers that do not add up would mean nothing (and may not compute)
        lines += precision_lines(m)
    lines.append(f"verdicts     {_verdict_text(record, rows)}")
    if record.tampering is not None:
        lines.append(f"tampering    {format_tampering(record.tampering)}")
    if rows is not None:
        cut = sum(row.finish_reason == "length" for row in rows)
        lines.append(
            f"truncated    {cut} of {len(rows)} samples hit max_new_tokens ({sampling['max_new_tokens']})"
        )
    cost = record.cost
    lines.append(
        f"cost         {cost['generated_tokens']} tokens generated, "
        f"{cost.get('tokens_per_second') or '-'} tok/s, wall {cost['wall_seconds']} s"
    )
    lines += describe_cost(cost)
    state = f"{len(rows)} rows" if rows is not None else "MISSING or unreadable"
    lines.append(f"samples      {record.samples_file} ({state})")
    return lines


PLANNED_HALF_WIDTHS = (0.01, 0.02, 0.05)


def precision_lines(metrics: Mapping[str, Any]) -> list[str]:
    """Standard errors in both views, the variance split, and samples needed (scoring/stats.py)."""
    per_problem = list(metrics["per_problem"].values())
    totals = {total for _, total in per_problem}
    if len(totals) != 1 or len(per_problem) < 2:
        return []
    split = variance_split([correct for correct, _ in per_problem], totals.pop())
    targets = "95% CI of " + " / ".join(f"±{100 * h:g}" for h in PLANNED_HALF_WIDTHS) + " points"
    fixed = " / ".join(
        str(samples_needed(split, h, "fixed").samples_per_problem) for h in PLANNED_HALF_WIDTHS
    )
    population_se = f"{100 * (split.se_population or 0.0):.1f}"
    if split.se_fixed is None:
        return [
            f"std error    {population_se} points over a population of problems "
            "(the sampling part needs 2+ samples per problem)",
            f"n for CI     {targets} on these problems: at most {fixed} samples per problem",
            "             (one sample per problem bounds the sampling variance by A(1-A))",
        ]
    between, within = split.between or 0.0, split.within or 0.0
    share = 100 * between / (between + within) if between + within > 0 else 0.0

    def population(h: float) -> str:
        # Out of reach by sampling: the problems needed, at the current samples per problem.
        need = samples_needed(split, h, "population")
        if need.samples_per_problem is None:
            return f"≥{need.problems_needed} problems×{split.samples_per_problem}"
        return f"{need.samples_per_problem} samples"

    return [
        f"std error    {100 * split.se_fixed:.1f} points on these problems (sampling only), "
        f"{population_se} over a population of problems",
        f"variance     {share:.0f}% between problems, {100 - share:.0f}% within problems (sampling)",
        f"n for CI     {targets}: {fixed} samples per problem on these problems;",
        f"             over a population: {' / '.join(population(h) for h in PLANNED_HALF_WIDTHS)}",
    ]


def format_tampering(block: Mapping[str, Any]) -> str:
    """`3 samples flagged: builtins 2, exit_trick 1` (a flag never changes a verdict)."""
    flagged = int(block.get("samples_flagged", 0))
    if not flagged:
        return "no sample flagged"
    flags = ", ".join(f"{flag} {count}" for flag, count in block.get("flags", {}).items())
    return f"{flagged} sample{'s' if flagged != 1 else ''} flagged: {flags} (see the samples file)"


def _problem_list(ids: Sequence[str], limit: int = 20) -> str:
    if not ids:
        return "none"
    shown = ", ".join(ids[:limit])
    return shown + (f" … and {len(ids) - limit} more" if len(ids) > limit else "")


def _detectable(c: Comparison) -> str:
    if c.detectable_population is None:
        return "not estimable (fewer than 6 problems, or the two runs agree on every problem)"
    population = f"{100 * c.detectable_population:.1f} points over a population of problems"
    # Below ~20 problems the closed form overstates the exact test's power (scoring/power.py).
    rough = " (rough: fewer than 20 problems)" if c.n_problems < 20 else ""
    if c.detectable_fixed is None:
        return f"{population}, not estimable on these problems (needs 2+ samples per problem){rough}"
    return f"{population}, {100 * c.detectable_fixed:.1f} on these problems{rough}"


def format_comparison(c: Comparison, path_a: Path, path_b: Path) -> str:
    """A paired comparison as text; a forced comparison across protocols says so first and last."""
    lines = []
    if c.protocol_differences:
        warning = f"protocols differ: {', '.join(c.protocol_differences)} (forced; not a fair comparison)"
        lines += [f"WARNING: {warning}", ""]
    lo, hi = c.difference_ci95
    lines += [
        f"task         {c.task}, {c.n_problems} problems",
        f"A            {c.model_a}: {percent(c.accuracy_a)}%   ({path_a})",
        f"B            {c.model_b}: {percent(c.accuracy_b)}%   ({path_b})",
        f"A - B        {100 * c.difference:+.1f} points, 95% CI [{100 * lo:+.1f}, {100 * hi:+.1f}] "
        "(paired t over problems)",
        f"p-value      {c.p_value:.4g} ({c.test} test, two-sided)",
        f"detectable   {_detectable(c)} (80% power, α = 0.05)",
        f"won by A     {len(c.won_by_a)}: {_problem_list(c.won_by_a)}",
        f"won by B     {len(c.won_by_b)}: {_problem_list(c.won_by_b)}",
        f"tied         {c.ties}",
    ]
    if c.protocol_differences:
        lines.append(f"protocols differ: {', '.join(c.protocol_differences)}")
    return "\n".join(lines)
