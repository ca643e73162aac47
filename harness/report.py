"""Plain-text summaries for the terminal: the end of a run, the task list, one score file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.compare import Comparison
from harness.pipeline import TaskOutcome
from harness.registry import TaskRegistry
from harness.results import ScoreFile
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


def format_score_file(path: Path, record: ScoreFile) -> str:
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
    counts = ", ".join(f"{verdict} {count}" for verdict, count in sorted(record.counts.items()) if count)
    lines.append(f"verdicts     {counts}")
    if record.tampering is not None:
        lines.append(f"tampering    {format_tampering(record.tampering)}")
    cost = record.cost
    lines.append(
        f"cost         {cost['generated_tokens']} tokens generated, "
        f"{cost.get('tokens_per_second') or '-'} tok/s, wall {cost['wall_seconds']} s"
    )
    lines.append(f"samples      {record.samples_file}")
    return "\n".join(lines)


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
        f"(paired bootstrap over problems, seed {c.bootstrap_seed}, {c.bootstrap_resamples} resamples)",
        f"p-value      {c.p_value:.4g} ({c.test} test, two-sided)",
        f"won by A     {len(c.won_by_a)}: {_problem_list(c.won_by_a)}",
        f"won by B     {len(c.won_by_b)}: {_problem_list(c.won_by_b)}",
        f"tied         {c.ties}",
    ]
    if c.protocol_differences:
        lines.append(f"protocols differ: {', '.join(c.protocol_differences)}")
    return "\n".join(lines)
