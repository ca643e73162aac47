"""Many score files -> one table: a row per model identity, a column per (task, version, protocol).

Scores sit in one column only when their protocol hash is equal, so a column never mixes numbers
produced with different prompts, sampling or graders. When one task appears under several protocols,
every such column is labelled with its hash and a note says which parts of the protocol differ.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from harness.protocol import protocol_differences
from harness.reporting.reference_rows import ReferenceRow
from harness.results import NotAScoreFileError, ScoreFile, ScoreFileError, read_score_file
from harness.scoring.ranks import RankInterval, rank_intervals
from harness.scoring.stats import StatsError

# Rank intervals on the board: 95%, a bootstrap over problems (the population view of scoring/ranks.py,
# which needs no more than one sample per problem), seeded so the same files give the same board.
RANK_LEVEL = 0.95
RANK_RESAMPLES = 2000
RANK_SEED = 0


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
    # Each model's rank interval in each column holding two models or more (see column_ranks).
    ranks: Mapping[tuple[ModelKey, ColumnKey], RankInterval] = field(default_factory=dict)

    def rank_text(self, row: ModelKey, column: ColumnKey) -> str | None:
        """`rank 1-2`: the places the data supports for this model in this column; None when unranked."""
        interval = self.ranks.get((row, column))
        if interval is None:
            return None
        span = str(interval.best) if interval.best == interval.worst else f"{interval.best}–{interval.worst}"
        return f"rank {span}"

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
RANKS_EXPLAINED = (
    f"rank: the places in its column the data supports, a {RANK_LEVEL:.0%} bootstrap interval over "
    f"problems ({RANK_RESAMPLES} resamples, seed {RANK_SEED}); models whose ranges overlap are not told "
    "apart by the data"
)


def _read_all(results_dir: Path) -> tuple[list[tuple[Path, ScoreFile]], list[tuple[Path, str]]]:
    found: list[tuple[Path, ScoreFile]] = []
    skipped: list[tuple[Path, str]] = []
    for path in _score_files(results_dir):
        try:
            found.append((path, read_score_file(path)))
        except NotAScoreFileError as err:
            if err.document_format != LEADERBOARD_JSON_FORMAT:  # not a board written into this folder
                skipped.append((path, "not a score file (JSON without schema_version or protocol)"))
        except ScoreFileError as err:
            # The path is reported beside the reason already; do not repeat it inside.
            reason = str(err).removeprefix(f"{path}: ").removeprefix(f"{path} ").removeprefix("is ")
            skipped.append((path, reason))
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

    `references` (see harness.reporting.reference_rows) are carried along for the renderers to show apart.
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
    ranks, rank_notes = _rank_all(rows, columns, cells, labels)
    return Leaderboard(
        results_dir=results_dir,
        rows=tuple(rows),
        columns=tuple(columns),
        column_labels=labels,
        cells=cells,
        protocols=protocols,
        notes=tuple(protocol_notes + sorted(duplicate_notes) + rank_notes),
        skipped=tuple(skipped),
        references=tuple(references),
        ranks=ranks,
    )


def _rank_all(
    rows: Sequence[ModelKey],
    columns: Sequence[ColumnKey],
    cells: Mapping[tuple[ModelKey, ColumnKey], Cell],
    labels: Mapping[ColumnKey, str],
) -> tuple[dict[tuple[ModelKey, ColumnKey], RankInterval], list[str]]:
    ranks: dict[tuple[ModelKey, ColumnKey], RankInterval] = {}
    notes = []
    for column in columns:
        ranked = [row for row in rows if (row, column) in cells]
        if len(ranked) < 2:
            continue  # one model has nothing to be ranked against
        results = {str(i): cells[(row, column)].record.metrics["per_problem"] for i, row in enumerate(ranked)}
        try:
            intervals = rank_intervals(results, level=RANK_LEVEL, resamples=RANK_RESAMPLES, seed=RANK_SEED)
        except StatsError as err:
            notes.append(f"{labels[column]}: no rank intervals ({err})")
            continue
        ranks.update({(ranked[int(r.model)], column): r for r in intervals})
    return ranks, notes


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


def column_rank_intervals(board: Leaderboard, column: ColumnKey, **options: Any) -> list[RankInterval]:
    """Rank intervals of the models in one column (scoring/ranks.py; options go to rank_intervals).

    A column holds one protocol, hence one problem set, so its per-problem results can be ranked
    together. A model is named "name backend dtype revision", unique per row. The board itself carries
    the intervals of every column under its fixed settings (`Leaderboard.ranks`); this is for other
    views and levels.
    """
    results = {}
    for row in board.rows:
        cell = board.cells.get((row, column))
        if cell is not None:
            label = " ".join(part for part in (row.name, row.backend, row.dtype, row.revision) if part)
            results[label] = cell.record.metrics["per_problem"]
    return rank_intervals(results, **options)
