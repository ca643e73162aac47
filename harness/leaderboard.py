"""Many score files -> one table: a row per model identity, a column per (task, version, protocol).

Scores sit in one column only when their protocol hash is equal, so a column never mixes numbers
produced with different prompts, sampling or graders. When one task appears under several protocols,
every such column is labelled with its hash and a note says which parts of the protocol differ.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from harness.atomic import write_text_atomic
from harness.reference_rows import REPORTED_MARK, ReferenceRow, references_markdown
from harness.results import NotAScoreFileError, ScoreFile, ScoreFileError, read_score_file

BOARD_NAME = "leaderboard"
FORMATS = ("md", "csv", "html", "json")


@dataclass(frozen=True, order=True)
class ModelKey:
    """Who produced a score. Two weight revisions or dtypes of one model are two rows, never merged."""

    name: str
    backend: str
    revision: str  # "" when unknown
    dtype: str


@dataclass(frozen=True, order=True)
class ColumnKey:
    task: str
    version: str
    protocol_hash: str


@dataclass(frozen=True)
class Cell:
    """The score of one model on one column, from the newest matching score file."""

    path: Path
    record: ScoreFile
    superseded: int  # older score files for the same model and column that were not used

    @property
    def accuracy(self) -> float:
        return float(self.record.metrics["accuracy"])

    @property
    def ci95(self) -> tuple[float, float]:
        lo, hi = self.record.metrics["accuracy_ci95"]
        return float(lo), float(hi)

    @property
    def n_problems(self) -> int:
        return int(self.record.metrics["n_problems"])

    @property
    def n_samples(self) -> int:
        return int(self.record.metrics["n_samples"])

    @property
    def samples_per_problem(self) -> int:
        return self.n_samples // self.n_problems

    @property
    def generated_tokens(self) -> int:
        return int(self.record.cost["generated_tokens"])

    def text(self) -> str:
        lo, hi = self.ci95
        return (
            f"{100 * self.accuracy:.1f} [{100 * lo:.1f}, {100 * hi:.1f}] "
            f"n={self.n_problems}×{self.samples_per_problem}"
        )


@dataclass(frozen=True)
class Leaderboard:
    results_dir: Path
    rows: tuple[ModelKey, ...]  # best mean accuracy first
    columns: tuple[ColumnKey, ...]
    column_labels: Mapping[ColumnKey, str]
    cells: Mapping[tuple[ModelKey, ColumnKey], Cell]
    protocols: Mapping[ColumnKey, Mapping[str, Any]]
    notes: tuple[str, ...]
    skipped: tuple[tuple[Path, str], ...]  # files that were not used, with the reason
    # Figures reported by others: shown apart, never ranked with the measured rows.
    references: tuple[ReferenceRow, ...] = ()

    def row_cells(self, row: ModelKey) -> list[Cell]:
        return [self.cells[(row, col)] for col in self.columns if (row, col) in self.cells]

    def tokens_per_sample(self, row: ModelKey) -> float | None:
        """Average generated tokens per sample over this model's cells (per problem when n=1)."""
        cells = self.row_cells(row)
        samples = sum(c.n_samples for c in cells)
        return sum(c.generated_tokens for c in cells) / samples if samples else None


def _model_key(record: ScoreFile) -> ModelKey:
    m = record.model
    return ModelKey(str(m["name"]), str(m["backend"]), str(m.get("revision") or ""), str(m["dtype"]))


def _column_key(record: ScoreFile) -> ColumnKey:
    return ColumnKey(str(record.task["name"]), str(record.task["version"]), str(record.protocol["hash"]))


def _created(record: ScoreFile) -> datetime:
    return datetime.fromisoformat(record.created_at.replace("Z", "+00:00"))


def _score_files(results_dir: Path) -> list[Path]:
    # Hidden folders hold the harness's own working files (journals, model info), not results.
    return sorted(
        p
        for p in results_dir.rglob("*.json")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(results_dir).parts)
    )


LEADERBOARD_JSON_FORMAT = "harness-leaderboard/1"


def _is_leaderboard_export(path: Path) -> bool:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(document, dict) and document.get("format") == LEADERBOARD_JSON_FORMAT


def _read_all(results_dir: Path) -> tuple[list[tuple[Path, ScoreFile]], list[tuple[Path, str]]]:
    found: list[tuple[Path, ScoreFile]] = []
    skipped: list[tuple[Path, str]] = []
    for path in _score_files(results_dir):
        try:
            found.append((path, read_score_file(path)))
        except NotAScoreFileError:
            if not _is_leaderboard_export(path):  # a board written into the folder it was built from
                skipped.append((path, "not a score file (JSON without schema_version or protocol)"))
        except ScoreFileError as err:
            # The path is reported beside the reason already; do not repeat it inside.
            skipped.append((path, str(err).removeprefix(f"{path} ").removeprefix("is ")))
    return found, skipped


def _pick_newest(
    found: Sequence[tuple[Path, ScoreFile]], results_dir: Path
) -> tuple[dict[tuple[ModelKey, ColumnKey], Cell], list[str]]:
    groups: dict[tuple[ModelKey, ColumnKey], list[tuple[Path, ScoreFile]]] = {}
    for path, record in found:
        groups.setdefault((_model_key(record), _column_key(record)), []).append((path, record))
    cells: dict[tuple[ModelKey, ColumnKey], Cell] = {}
    notes = []
    for key, group in groups.items():
        # Newest first; the path breaks ties so the choice never depends on directory order.
        group.sort(key=lambda item: (_created(item[1]), str(item[0])), reverse=True)
        path, record = group[0]
        cells[key] = Cell(path, record, superseded=len(group) - 1)
        if len(group) > 1:
            older = ", ".join(str(p.relative_to(results_dir)) for p, _ in group[1:])
            notes.append(
                f"{key[0].name} on {key[1].task}: {len(group)} score files; using the newest, "
                f"{path.relative_to(results_dir)} ({record.created_at}); not used: {older}"
            )
    return cells, notes


def protocol_differences(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    """Which protocol parts differ: top-level keys, or `key.subkey` where both sides are objects."""
    differing: list[str] = []
    for key in sorted(set(a) | set(b)):
        if key == "hash" or a.get(key) == b.get(key):
            continue
        left, right = a.get(key), b.get(key)
        if isinstance(left, Mapping) and isinstance(right, Mapping):
            subkeys = sorted(k for k in set(left) | set(right) if left.get(k) != right.get(k))
            differing.extend(f"{key}.{sub}" for sub in subkeys)
        else:
            differing.append(key)
    return differing


def _label_columns(
    columns: Sequence[ColumnKey], protocols: Mapping[ColumnKey, Mapping[str, Any]]
) -> tuple[dict[ColumnKey, str], list[str]]:
    labels: dict[ColumnKey, str] = {}
    notes = []
    by_task: dict[str, list[ColumnKey]] = {}
    for col in columns:
        by_task.setdefault(col.task, []).append(col)
    for task, cols in by_task.items():
        if len(cols) == 1:
            labels[cols[0]] = task
            continue
        show_version = len({c.version for c in cols}) > 1
        for col in cols:
            version = f" v{col.version}" if show_version else ""
            labels[col] = f"{task}{version} [p:{col.protocol_hash[:8]}]"
        first = cols[0]
        for other in cols[1:]:
            diff = protocol_differences(protocols[first], protocols[other]) or ["(no visible key)"]
            notes.append(
                f"{task}: protocols {first.protocol_hash[:8]} and {other.protocol_hash[:8]} differ in "
                f"{', '.join(diff)}; their scores are not comparable"
            )
    return labels, notes


def build_leaderboard(results_dir: Path, references: Sequence[ReferenceRow] = ()) -> Leaderboard:
    """Read every score file under `results_dir` (recursively) into one table; bad files are skipped.

    `references` (see harness.reference_rows) are carried along for the renderers to show apart.
    """
    results_dir = Path(results_dir)
    found, skipped = _read_all(results_dir)
    cells, duplicate_notes = _pick_newest(found, results_dir)
    columns = sorted({col for _, col in cells})
    protocols = {col: cell.record.protocol for (_, col), cell in sorted(cells.items(), key=lambda kv: kv[0])}
    labels, protocol_notes = _label_columns(columns, protocols)

    def mean_accuracy(row: ModelKey) -> float:
        values = [cells[(row, c)].accuracy for c in columns if (row, c) in cells]
        return sum(values) / len(values)

    rows = sorted({row for row, _ in cells}, key=lambda r: (-mean_accuracy(r), r))
    return Leaderboard(
        results_dir=results_dir,
        rows=tuple(rows),
        columns=tuple(columns),
        column_labels=labels,
        cells=cells,
        protocols=protocols,
        notes=tuple(protocol_notes + sorted(duplicate_notes)),
        skipped=tuple(skipped),
        references=tuple(references),
    )


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
    if not lb.rows:
        lines.append(f"No score files found under {lb.results_dir}.")
    else:
        header = ["model", "backend", "dtype", "revision"]
        header += [lb.column_labels[c] for c in lb.columns] + ["avg tokens/sample"]
        lines.append("| " + " | ".join(_md(h) for h in header) + " |")
        lines.append("|" + "---|" * len(header))
        for row in lb.rows:
            cells = [lb.cells[(row, c)].text() if (row, c) in lb.cells else "–" for c in lb.columns]
            tokens = lb.tokens_per_sample(row)
            values = [row.name, row.backend, row.dtype, row.revision[:12] or "–", *cells]
            values.append("–" if tokens is None else f"{tokens:.0f}")
            lines.append("| " + " | ".join(_md(v) for v in values) + " |")
    lines += references_markdown(lb.references)
    if lb.notes:
        lines += ["", "## Notes", ""] + [f"- {_md(note)}" for note in lb.notes]
    if lb.skipped:
        lines += ["", "## Skipped files", ""]
        lines += [f"- {_rel(path, lb.results_dir)}: {_md(reason)}" for path, reason in lb.skipped]
    return "\n".join(lines) + "\n"


def _rel(path: Path, folder: Path) -> str:
    try:
        return str(path.relative_to(folder))
    except ValueError:
        return str(path)


_CSV_FIELDS = [
    "model", "backend", "revision", "dtype", "task", "task_version", "protocol_hash", "column",
    "accuracy", "ci95_low", "ci95_high", "n_problems", "samples_per_problem", "n_samples",
    "generated_tokens", "tokens_per_sample", "wall_seconds", "created_at", "run_id", "score_file",
]  # fmt: skip


def _k_sort(name: str) -> tuple[str, int]:
    kind, k = name.split("@")
    return kind, int(k)


def render_csv(lb: Leaderboard) -> str:
    """One row per (model, column) with numbers as numbers (accuracy as a fraction, not a percent)."""
    k_fields = sorted(
        {k for cell in lb.cells.values() for k in cell.record.metrics if k.startswith(("pass@", "maj@"))},
        key=_k_sort,
    )
    # Reported figures add their own columns only when there are some, so plain boards keep their shape.
    ref_fields = ["kind", "metric", "source"] if lb.references else []
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=_CSV_FIELDS + k_fields + ref_fields, lineterminator="\n")
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
                "n_problems": cell.n_problems, "samples_per_problem": cell.samples_per_problem,
                "n_samples": cell.n_samples, "generated_tokens": cell.generated_tokens,
                "tokens_per_sample": cell.generated_tokens / cell.n_samples,
                "wall_seconds": cell.record.cost["wall_seconds"], "created_at": cell.record.created_at,
                "run_id": cell.record.run_id, "score_file": _rel(cell.path, lb.results_dir),
                **{k: m[k] for k in k_fields if k in m},
                **({"kind": "measured", "metric": "accuracy"} if ref_fields else {}),
            })  # fmt: skip
    for ref in lb.references:
        writer.writerow({
            "model": ref.model, "task": ref.task or "", "column": ref.benchmark, "accuracy": ref.value / 100,
            "kind": REPORTED_MARK, "metric": ref.metric, "source": ref.citation,
        })  # fmt: skip
    return out.getvalue()


def describe_sampling(sampling: Mapping[str, Any]) -> str:
    temperature = sampling.get("temperature", 0.0)
    how = "greedy" if not temperature else f"temperature {temperature}, top_p {sampling.get('top_p', 1.0)}"
    if sampling.get("top_k"):
        how += f", top_k {sampling['top_k']}"
    return f"{how}, n={sampling.get('n', 1)}, max {sampling.get('max_new_tokens', '?')} new tokens"


def describe_protocol(protocol: Mapping[str, Any]) -> str:
    """A column's protocol in plain words: sampling, data window and options, grader."""
    data = protocol.get("data", {})
    options = data.get("options") or {}
    window = ", ".join(f"{k}={v}" for k, v in sorted(options.items())) or "no options"
    grader = protocol.get("grader", {})
    return (
        f"{describe_sampling(protocol.get('sampling', {}))}; "
        f"{data.get('problem_count', '?')} problems ({window}); "
        f"grader {grader.get('name', '?')} v{grader.get('version', '?')}"
    )


def harness_version(cell: Cell) -> str:
    return str(cell.record.provenance.get("harness_version", "?"))


def _cell_json(lb: Leaderboard, row: ModelKey, col: ColumnKey, cell: Cell) -> dict[str, Any]:
    lo, hi = cell.ci95
    m = cell.record.metrics
    return {
        "model": row.name, "backend": row.backend, "revision": row.revision, "dtype": row.dtype,
        "column": lb.column_labels[col], "protocol_hash": col.protocol_hash,
        "accuracy": cell.accuracy, "ci95": [lo, hi], "n_problems": cell.n_problems,
        "samples_per_problem": cell.samples_per_problem, "generated_tokens": cell.generated_tokens,
        "tokens_per_sample": cell.generated_tokens / cell.n_samples,
        "wall_seconds": cell.record.cost["wall_seconds"], "harness_version": harness_version(cell),
        "created_at": cell.record.created_at, "run_id": cell.record.run_id,
        "score_file": _rel(cell.path, lb.results_dir),
        "k_metrics": {k: v for k, v in m.items() if k.startswith(("pass@", "maj@"))},
    }  # fmt: skip


def _identity(row: ModelKey) -> dict[str, str]:
    return {"backend": row.backend, "revision": row.revision, "dtype": row.dtype}


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
        from harness.leaderboard_html import render_html  # the page builder is only needed for html

        return render_html(lb)
    renderers = {"md": render_markdown, "csv": render_csv, "json": render_json}
    return renderers[fmt](lb)
