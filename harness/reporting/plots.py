"""Charts of results: inline SVG for the HTML leaderboard, and a PNG figure for `harness show --plot`.

The SVG charts are plain strings built here, with no plotting library, so the leaderboard page stays
one self-contained file and the leaderboard works without matplotlib. The PNG figure uses matplotlib
(the optional "plot" extra), imported only when a figure is drawn.
"""

from __future__ import annotations

import html
import math
import re
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.results import SampleRow, ScoreFile, read_samples
from harness.types import Verdict

# Charts are drawn 440 px wide so three sit side by side on a 1400 px page; the label room grows with the
# labels up to LABEL_CHARS characters (longer ones are cut; the full label is in the tooltip).
CHART_WIDTH = 440
LABEL_CHARS = 28
_CHAR_PX = 7  # about the width of one character of the 12 px labels


class PlotError(ValueError):
    """A figure that cannot be drawn (matplotlib missing, unwritable path)."""


@dataclass(frozen=True)
class Point:
    """One model on one column: what the SVG charts draw."""

    label: str
    accuracy: float  # fraction
    ci95: tuple[float, float]
    tokens_per_sample: float
    seconds_per_problem: float
    # Per problem, from the score file's cost block (reporting/frontier.py); None when unknown.
    joules_per_problem: float | None = None
    money_per_problem: float | None = None


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def short_label(label: str) -> str:
    """A label as the charts show it: cut to LABEL_CHARS characters."""
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def _label_room(points: Sequence[Point]) -> int:
    """Pixels for the longest (possibly cut) label, plus a little air."""
    return _CHAR_PX * max((len(short_label(p.label)) for p in points), default=4) + 12


def score_bars_svg(points: Sequence[Point], title: str, description: str | None = None) -> str:
    """Horizontal bars of accuracy with 95% CI whiskers, best first. `description` (the screen-reader
    label) defaults to the title."""
    bar, gap, top = 16, 8, 28
    left = max(_label_room(points), 40)
    width, plot_w = CHART_WIDTH, CHART_WIDTH - left - 44  # 44 px on the right for the value labels
    ordered = sorted(points, key=lambda p: (-p.accuracy, p.label))
    height = top + len(ordered) * (bar + gap) + 24
    parts = [
        f'<svg class="chart bars" role="img" aria-label="{_esc(description or title)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="{left}" y="16" class="title">{_esc(title)}</text>',
    ]
    bottom = height - 20
    for tick in (0, 25, 50, 75, 100):
        x = left + plot_w * tick / 100
        parts.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{bottom}" class="grid"/>')
        parts.append(f'<text x="{x:.1f}" y="{bottom + 14}" class="tick" text-anchor="middle">{tick}%</text>')
    for i, p in enumerate(ordered):
        y = top + i * (bar + gap)
        lo, hi = (left + plot_w * v for v in p.ci95)
        mid = y + bar / 2
        tip = f"{p.label}: {100 * p.accuracy:.1f}% [{100 * p.ci95[0]:.1f}, {100 * p.ci95[1]:.1f}]"
        bar_w = max(plot_w * p.accuracy, 1)
        parts += [
            f"<g><title>{_esc(tip)}</title>",
            f'<text x="{left - 6}" y="{mid + 4:.1f}" text-anchor="end" class="label">'
            f"{_esc(short_label(p.label))}</text>",
            f'<rect x="{left}" y="{y}" width="{bar_w:.1f}" height="{bar}" class="bar"/>',
            f'<line x1="{lo:.1f}" y1="{mid:.1f}" x2="{hi:.1f}" y2="{mid:.1f}" class="ci"/>',
            f'<line x1="{lo:.1f}" y1="{y + 3}" x2="{lo:.1f}" y2="{y + bar - 3}" class="ci"/>',
            f'<line x1="{hi:.1f}" y1="{y + 3}" x2="{hi:.1f}" y2="{y + bar - 3}" class="ci"/>',
            f'<text x="{left + plot_w + 6}" y="{mid + 4:.1f}" class="value">'
            f"{100 * p.accuracy:.1f}</text></g>",
        ]
    parts.append("</svg>")
    return "".join(parts)


def _nice_max(value: float) -> float:
    """A round axis end at or above value (1, 2, 5 × a power of ten)."""
    if value <= 0:
        return 1.0
    scale = 10.0 ** math.floor(math.log10(value))  # below 1 too: money per problem is often cents
    for step in (1, 2, 5, 10):
        if step * scale >= value:
            return float(step * scale)
    return float(10 * scale)


def efficiency_svg(
    points: Sequence[Point],
    title: str,
    x_field: str,
    x_label: str,
    description: str | None = None,
    frontier: Collection[str] = (),
    x_format: str = ".1f",
) -> str:
    """Accuracy (with CI) against a cost per model: tokens per sample, seconds, joules or money per problem.

    Points whose labels are in `frontier` are drawn filled and joined by a line (the cost frontier).
    """
    width, height, left, top, bottom = CHART_WIDTH, 280, 48, 28, 40
    right = max(_label_room(points), 30)  # the labels sit right of their points
    plot_w, plot_h = width - left - right, height - top - bottom
    x_max = _nice_max(max((getattr(p, x_field) for p in points), default=1.0) * 1.05)

    def sx(v: float) -> float:
        return left + plot_w * v / x_max

    def sy(v: float) -> float:
        return top + plot_h * (1 - v)

    parts = [
        f'<svg class="chart scatter" role="img" aria-label="{_esc(description or title)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="{left}" y="16" class="title">{_esc(title)}</text>',
    ]
    for frac in (0, 0.25, 0.5, 0.75, 1):
        y = sy(frac)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" class="grid"/>')
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">{100 * frac:.0f}%</text>'
        )
    for frac in (0, 0.5, 1):
        x = left + plot_w * frac
        parts.append(
            f'<text x="{x:.1f}" y="{top + plot_h + 16}" class="tick" text-anchor="middle">'
            f"{x_max * frac:g}</text>"
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" class="axis" text-anchor="middle">'
        f"{_esc(x_label)}</text>"
    )
    on_front = sorted((p for p in points if p.label in frontier), key=lambda p: getattr(p, x_field))
    if len(on_front) > 1:
        line = " ".join(f"{sx(getattr(p, x_field)):.1f},{sy(p.accuracy):.1f}" for p in on_front)
        parts.append(f'<polyline points="{line}" class="frontier-line"/>')
    for p in sorted(points, key=lambda p: p.label):
        x, y = sx(getattr(p, x_field)), sy(p.accuracy)
        front = p.label in frontier
        tip = f"{p.label}: {100 * p.accuracy:.1f}% at {getattr(p, x_field):{x_format}} {x_label}"
        tip += " (on the cost frontier)" if front else ""
        parts += [
            f"<g><title>{_esc(tip)}</title>",
            f'<line x1="{x:.1f}" y1="{sy(p.ci95[0]):.1f}" x2="{x:.1f}" y2="{sy(p.ci95[1]):.1f}" class="ci"/>',
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" class="dot{" frontier" if front else ""}"/>',
            f'<text x="{x + 7:.1f}" y="{y - 5:.1f}" class="label">{_esc(short_label(p.label))}</text></g>',
        ]
    parts.append("</svg>")
    return "".join(parts)


def problem_groups(
    problem_ids: Sequence[str], problem_meta: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, str] | None:
    """problem id -> group (difficulty, level, year...) when the problems carry one, else None.

    The metadata the task set on its problems comes first (reporting/problem_meta.py); without it, ids
    with a prefix (add-1, mul-2) give the prefix when that makes a few groups of several problems on
    average. None means there is nothing to group by.
    """
    meta = problem_meta or {}
    for key in ("difficulty", "level", "year", "contest_date"):
        values = {pid: meta.get(pid, {}).get(key) for pid in problem_ids}
        if all(v not in (None, "") for v in values.values()):
            if key == "contest_date":
                return {pid: str(v)[:7] for pid, v in values.items()}  # by month
            return {pid: str(v) for pid, v in values.items()}
    prefixes = {pid: re.split(r"[-_/]", pid, maxsplit=1)[0] for pid in problem_ids}
    counts = Counter(prefixes.values())
    if (
        2 <= len(counts) <= 12
        and len(counts) <= len(problem_ids) / 2  # groups of about one problem say nothing
        and all("-" in p or "_" in p or "/" in p for p in problem_ids)
    ):
        return prefixes
    return None


def _group_panel(ax: Any, per_problem: Mapping[str, Sequence[int]], groups: Mapping[str, str]) -> None:
    totals: dict[str, list[int]] = {}
    for pid, (correct, n) in per_problem.items():
        entry = totals.setdefault(groups[pid], [0, 0, 0])
        entry[0] += correct
        entry[1] += n
        entry[2] += 1
    names = sorted(totals)
    values = [100 * totals[g][0] / totals[g][1] for g in names]
    ax.bar(range(len(names)), values, color="#7aa6e0")
    ax.set_xticks(range(len(names)), [f"{g}\n({totals[g][2]})" for g in names], fontsize=8)
    ax.set_ylim(0, 100)
    ax.set_ylabel("accuracy %")
    ax.set_title("accuracy by group (problems)")


def _verdict_panel(ax: Any, counts: Mapping[str, int]) -> None:
    names = [v for v, c in sorted(counts.items(), key=lambda kv: -kv[1]) if c]
    colours = ["#5cb85c" if Verdict.name_counts_as_correct(v) else "#d9534f" for v in names]
    ax.barh(range(len(names)), [counts[v] for v in names], color=colours)
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    for i, v in enumerate(names):
        ax.text(counts[v], i, f" {counts[v]}", va="center", fontsize=8)
    ax.set_xlabel("samples")
    ax.set_title("verdicts")


def _length_panel(ax: Any, samples: Sequence[SampleRow], max_new_tokens: int | None) -> None:
    stopped = [s.output_tokens for s in samples if s.finish_reason != "length"]
    cut = [s.output_tokens for s in samples if s.finish_reason == "length"]
    top = max([*stopped, *cut, max_new_tokens or 0, 1])
    bins = [top * i / 30 for i in range(31)]
    ax.hist([stopped, cut], bins=bins, stacked=True, color=["#7aa6e0", "#d9534f"],
            label=["stopped", f"hit the token limit ({len(cut)})"])  # fmt: skip
    if max_new_tokens:
        ax.axvline(max_new_tokens, color="black", linestyle="--", linewidth=1)
        ax.text(max_new_tokens, ax.get_ylim()[1] * 0.95, " max_new_tokens", ha="right", fontsize=8)
    ax.set_xlabel("output tokens per sample")
    ax.set_ylabel("samples")
    ax.set_title("output length")
    ax.legend(fontsize=8, loc="upper center")


def write_score_figure(
    score_path: Path,
    record: ScoreFile,
    target: Path,
    problem_meta: Mapping[str, Mapping[str, Any]] | None = None,
) -> Path:
    """A PNG with accuracy by group (when problems have one), the verdicts and the output lengths."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only; never needs a display
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise PlotError(
            f"--plot needs matplotlib ({err}); install it with `pip install 'harness[plot]'`"
        ) from None
    samples = read_samples(score_path, record)
    per_problem = record.metrics.get("per_problem", {})
    groups = problem_groups(list(per_problem), problem_meta) if per_problem else None
    panels = 3 if groups else 2
    fig, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 4.2), constrained_layout=True)
    if groups:
        _group_panel(axes[0], per_problem, groups)
    _verdict_panel(axes[-2], record.counts)
    _length_panel(axes[-1], samples, record.protocol.get("sampling", {}).get("max_new_tokens"))
    m = record.metrics
    fig.suptitle(
        f"{record.model['name']} on {record.task['name']}: {100 * m['accuracy']:.1f}% "
        f"({m['n_problems']} problems × {m['n_samples'] // m['n_problems']})",
        fontsize=11,
    )
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(target, dpi=110)
    except OSError as err:
        raise PlotError(f"cannot write the figure to {target}: {err}") from err
    finally:
        plt.close(fig)
    return target
