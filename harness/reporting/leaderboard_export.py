"""The leaderboard as files: Markdown, CSV and JSON here, HTML in leaderboard_html; written atomically."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from harness.atomic import write_text_atomic
from harness.reporting.frontier import (
    CostPoint,
    cost_frontiers,
    frontier_markdown,
    frontier_points,
    point_json,
)
from harness.reporting.leaderboard import (
    LEADERBOARD_JSON_FORMAT,
    RANK_LEVEL,
    RANK_RESAMPLES,
    RANK_SEED,
    RANKS_EXPLAINED,
    Cell,
    ColumnKey,
    Leaderboard,
    ModelKey,
    describe_protocol,
    harness_version,
)
from harness.reporting.reference_rows import REPORTED_MARK, references_markdown
from harness.scoring.ranks import RankInterval

BOARD_NAME = "leaderboard"
FORMATS = ("md", "csv", "html", "json")


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(lb: Leaderboard) -> str:
    """The leaderboard as Markdown: the table, then notes and skipped files."""
    lines = [
        "# Leaderboard",
        "",
        "Accuracy in % (mean over all samples, i.e. pass@1 averaged over n) with its 95% bootstrap "
        "confidence interval over problems; n = problems × samples per problem. Only scores in the "
        "same column share a protocol and can be compared.",
        "",
    ]
    if lb.ranks:
        lines += [f"{RANKS_EXPLAINED[0].upper()}{RANKS_EXPLAINED[1:]}.", ""]
    if not lb.rows:
        lines.append(f"No score files found under {lb.results_dir}.")
    else:
        header = ["model", "backend", "dtype", "revision"]
        header += [lb.column_labels[c] for c in lb.columns] + ["avg tokens/sample"]
        lines.append("| " + " | ".join(_md(h) for h in header) + " |")
        lines.append("|" + "---|" * len(header))
        for row in lb.rows:
            cells = [_cell_text(lb, row, c) for c in lb.columns]
            tokens = lb.tokens_per_sample(row)
            values = [row.name, row.backend, row.dtype, row.revision[:12] or "–", *cells]
            values.append("–" if tokens is None else f"{tokens:.0f}")
            lines.append("| " + " | ".join(_md(v) for v in values) + " |")
    lines += frontier_markdown(lb)
    lines += references_markdown(lb.references)
    if lb.notes:
        lines += ["", "## Notes", ""] + [f"- {_md(note)}" for note in lb.notes]
    if lb.skipped:
        lines += ["", "## Skipped files", ""]
        lines += [f"- {_rel(path, lb.results_dir)}: {_md(reason)}" for path, reason in lb.skipped]
    return "\n".join(lines) + "\n"


def _cell_text(lb: Leaderboard, row: ModelKey, col: ColumnKey) -> str:
    cell = lb.cells.get((row, col))
    if cell is None:
        return "–"
    rank = lb.rank_text(row, col)
    return cell.text() if rank is None else f"{cell.text()} · {rank}"


def _rel(path: Path, folder: Path) -> str:
    try:
        return str(path.relative_to(folder))
    except ValueError:
        return str(path)


_CSV_FIELDS = [
    "model", "backend", "revision", "dtype", "task", "task_version", "protocol_hash", "column",
    "accuracy", "ci95_low", "ci95_high", "rank", "rank_best", "rank_worst",
    "n_problems", "samples_per_problem", "n_samples",
    "generated_tokens", "tokens_per_sample", "wall_seconds", "created_at", "run_id", "score_file",
]  # fmt: skip


def _k_sort(name: str) -> tuple[str, int]:
    kind, k = name.split("@")
    return kind, int(k)


def _rank_fields(interval: RankInterval | None) -> dict[str, int]:
    """The CSV's rank columns: empty for a model alone in its column."""
    if interval is None:
        return {}
    return {"rank": interval.rank, "rank_best": interval.best, "rank_worst": interval.worst}


def _rank_json(interval: RankInterval | None) -> dict[str, int] | None:
    if interval is None:
        return None
    return {"observed": interval.rank, "best": interval.best, "worst": interval.worst}


def _csv_cost(point: CostPoint | None) -> dict[str, Any]:
    """Cost columns of one CSV line: unknown amounts stay empty, never 0."""
    if point is None:
        return {}
    return {k: ("" if v is None else v) for k, v in point_json(point).items()}


def render_csv(lb: Leaderboard) -> str:
    """One row per (model, column) with numbers as numbers (accuracy as a fraction, not a percent)."""
    k_fields = sorted(
        {k for cell in lb.cells.values() for k in cell.record.metrics if k.startswith(("pass@", "maj@"))},
        key=_k_sort,
    )
    # Reported figures add their own columns only when there are some, so plain boards keep their shape.
    ref_fields = ["kind", "metric", "source", "reference_id"] if lb.references else []
    # So do the cost frontier's, once some score file has a cost block.
    frontier = frontier_points(lb)
    cost_fields = list(point_json(next(iter(frontier.values())))) if frontier else []
    out = io.StringIO()
    fields = _CSV_FIELDS + k_fields + cost_fields + ref_fields
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in lb.rows:
        for col in lb.columns:
            cell = lb.cells.get((row, col))
            if cell is None:
                continue
            lo, hi = cell.ci95
            m = cell.record.metrics
            writer.writerow({
                "model": row.name, "backend": row.backend, "revision": row.revision, "dtype": row.dtype,
                "task": col.task, "task_version": col.version, "protocol_hash": col.protocol_hash,
                "column": lb.column_labels[col], "accuracy": cell.accuracy, "ci95_low": lo, "ci95_high": hi,
                **_rank_fields(lb.ranks.get((row, col))),
                "n_problems": cell.n_problems, "samples_per_problem": cell.samples_per_problem,
                "n_samples": cell.n_samples, "generated_tokens": cell.generated_tokens,
                "tokens_per_sample": cell.generated_tokens / cell.n_samples,
                "wall_seconds": cell.record.cost["wall_seconds"], "created_at": cell.record.created_at,
                "run_id": cell.record.run_id, "score_file": _rel(cell.path, lb.results_dir),
                **{k: m[k] for k in k_fields if k in m},
                **({"kind": "measured", "metric": "accuracy"} if ref_fields else {}),
                **_csv_cost(frontier.get((row, col))),
            })  # fmt: skip
    for ref in lb.references:
        writer.writerow({
            "model": ref.model, "task": ref.task or "", "column": ref.benchmark, "accuracy": ref.value / 100,
            "kind": REPORTED_MARK, "metric": ref.metric, "source": ref.citation, "reference_id": ref.id,
        })  # fmt: skip
    return out.getvalue()


def _cell_json(lb: Leaderboard, row: ModelKey, col: ColumnKey, cell: Cell) -> dict[str, Any]:
    lo, hi = cell.ci95
    m = cell.record.metrics
    return {
        "model": row.name, "backend": row.backend, "revision": row.revision, "dtype": row.dtype,
        "column": lb.column_labels[col], "protocol_hash": col.protocol_hash,
        "accuracy": cell.accuracy, "ci95": [lo, hi], "n_problems": cell.n_problems,
        "rank": _rank_json(lb.ranks.get((row, col))),
        "samples_per_problem": cell.samples_per_problem, "generated_tokens": cell.generated_tokens,
        "tokens_per_sample": cell.generated_tokens / cell.n_samples,
        "wall_seconds": cell.record.cost["wall_seconds"], "harness_version": harness_version(cell),
        "created_at": cell.record.created_at, "run_id": cell.record.run_id,
        "score_file": _rel(cell.path, lb.results_dir),
        "k_metrics": {k: v for k, v in m.items() if k.startswith(("pass@", "maj@"))},
    }  # fmt: skip


def _identity(row: ModelKey) -> dict[str, str]:
    return {"backend": row.backend, "revision": row.revision, "dtype": row.dtype}


def _frontier_json(lb: Leaderboard) -> dict[str, Any]:
    """`cost_frontier`: per column, each model's cost per problem and frontier marks (absent without
    any cost block, so boards of older score files keep their shape)."""
    frontiers = cost_frontiers(lb)
    if not frontiers:
        return {}
    return {
        "cost_frontier": [
            {
                "column": lb.column_labels[f.column],
                "protocol_hash": f.column.protocol_hash,
                "points": [
                    {"model": p.row.name, **_identity(p.row), "accuracy": p.accuracy, **point_json(p)}
                    for p in f.points
                ],
            }
            for f in frontiers
        ]
    }


def render_json(lb: Leaderboard) -> str:
    """The whole board for dashboards: measured rows in rank order, reported figures in their own list."""
    document = {
        "format": LEADERBOARD_JSON_FORMAT,
        "columns": [
            {
                "label": lb.column_labels[c],
                **asdict(c),
                "protocol_summary": describe_protocol(lb.protocols[c]),
                "protocol": lb.protocols[c],
            }
            for c in lb.columns
        ],
        "rows": [
            {"model": r.name, **_identity(r), "tokens_per_sample": lb.tokens_per_sample(r)} for r in lb.rows
        ],
        "cells": [
            _cell_json(lb, r, c, lb.cells[(r, c)]) for r in lb.rows for c in lb.columns if (r, c) in lb.cells
        ],
        "rank_intervals": {
            "level": RANK_LEVEL,
            "resamples": RANK_RESAMPLES,
            "seed": RANK_SEED,
            "resampled": "problems",
            "explained": RANKS_EXPLAINED,
        },
        **_frontier_json(lb),
        "reported": [
            {"kind": REPORTED_MARK, **asdict(ref), "citation": ref.citation} for ref in lb.references
        ],
        "notes": list(lb.notes),
        "skipped": [{"file": _rel(p, lb.results_dir), "reason": why} for p, why in lb.skipped],
    }
    return json.dumps(document, indent=1, ensure_ascii=False, allow_nan=False) + "\n"


def write_leaderboard(lb: Leaderboard, out: Path, formats: Sequence[str] = ("md", "csv")) -> list[Path]:
    """Write the board in each of `formats` (see FORMATS) atomically, into a folder or beside a named file.

    `out` is a folder (files are named leaderboard.<format>) or a file whose suffix is one of FORMATS,
    whose stem names every format written.
    """
    out = Path(out)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown leaderboard formats {unknown}; choose from {', '.join(FORMATS)}")
    base = out.with_suffix("") if out.suffix.lstrip(".") in FORMATS else out / BOARD_NAME
    base.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        path = base.with_name(f"{base.name}.{fmt}")
        write_text_atomic(path, _render(lb, fmt))
        written.append(path)
    return written


def _render(lb: Leaderboard, fmt: str) -> str:
    if fmt == "html":
        from harness.reporting.leaderboard_html import render_html  # the page builder is only needed for html

        return render_html(lb)
    renderers = {"md": render_markdown, "csv": render_csv, "json": render_json}
    return renderers[fmt](lb)
