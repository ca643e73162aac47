"""How the HTML page names models: short chart labels that say only what tells rows apart, escaped."""

from __future__ import annotations

import html
from collections.abc import Sequence

from harness.reporting.leaderboard import Leaderboard, ModelKey
from harness.reporting.plots import short_label


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def identity_parts(row: ModelKey) -> dict[str, str]:
    revision = row.revision.removeprefix("sha256:")[:10] or "no revision"
    return {"name": row.name, "backend": row.backend, "dtype": row.dtype, "revision": revision}


def _distinguishing(rows: Sequence[ModelKey], row: ModelKey, fields: Sequence[str]) -> list[str]:
    """The parts of `row`'s identity, among `fields`, in which `rows` are not all alike."""
    parts = identity_parts(row)
    return [parts[f] for f in fields if len({identity_parts(r)[f] for r in rows}) > 1]


def model_label(lb: Leaderboard, row: ModelKey) -> str:
    """The model name, plus what tells it apart (backend, dtype, revision) where two rows share a name."""
    twins = [r for r in lb.rows if r.name == row.name]
    if len(twins) == 1:
        return row.name
    return f"{row.name} ({', '.join(_distinguishing(twins, row, ('backend', 'dtype', 'revision')))})"


def chart_labels(lb: Leaderboard) -> tuple[dict[ModelKey, str], list[tuple[str, str]]]:
    """Labels for the charts, which have little room: only what tells the rows apart (say "hf · bfloat16"
    and "llamacpp · Q4_1" for two engines of one model), and a legend from label to full identity
    whenever a label is not simply the model's name. Where even that is too long to tell rows apart once
    cut, the rows get short keys (M1, M2, ...) explained by the legend."""
    fields = ("name", "backend", "dtype", "revision")
    labels = {row: " · ".join(_distinguishing(lb.rows, row, fields)) or row.name for row in lb.rows}
    if len({short_label(label) for label in labels.values()}) < len(labels):
        labels = {row: f"M{i}" for i, row in enumerate(lb.rows, start=1)}
    legend = [
        (labels[row], f"{row.name} ({row.backend}, {row.dtype}, revision {identity_parts(row)['revision']})")
        for row in lb.rows
        if labels[row] != row.name
    ]
    return labels, legend
