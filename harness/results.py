"""The score file: one JSON document per (model, task, run), plus a per-sample JSONL file beside it.

The JSON Schema in harness/schemas/score_file.schema.json is the contract: every score file is
validated against it before it is written and again when it is read, so a file that the leaderboard
accepts is one that this module could have written. Writes are atomic; the samples file is written
first so that a score file never points at samples that are not there.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from enum import Enum
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.atomic import write_text_atomic
from harness.cost.block import RunTotals, run_cost_block
from harness.cost.readings import EnergyMeasurement
from harness.cost.settings import CostSettings
from harness.grading import runs_code
from harness.provenance import provenance_now
from harness.score_checks import metrics_findings, recomputed_findings, samples_findings
from harness.scoring.metrics import compute_metrics, metrics_to_dict
from harness.scoring.tamper import tampering_counts
from harness.types import Completion, ModelInfo, Score

if TYPE_CHECKING:
    from harness.planning import TaskPlan

SCHEMA_VERSION = 2  # 2: samples_sha256 binds the score file to its samples file; optional `tampering` block
READABLE_VERSIONS = (1, 2)
SCHEMA_RESOURCE = "schemas/score_file.schema.json"


class ScoreFileError(ValueError):
    """A score file or samples file that cannot be written or read as it stands."""


class InconsistentScoreFileError(ScoreFileError):
    """A score file whose numbers do not follow from its own record (per-problem tally, samples file)."""


class NotAScoreFileError(ScoreFileError):
    """A JSON file that is something else entirely; `document_format` is its top-level "format" field."""

    def __init__(self, message: str, document_format: object = None) -> None:
        super().__init__(message)
        self.document_format = document_format


@dataclass(frozen=True)
class ScoreFile:
    """The score file's content. Sub-objects stay plain mappings; the schema describes their keys."""

    run_id: str
    created_at: str  # ISO-8601 UTC, e.g. 2025-01-31T12:00:00Z
    task: Mapping[str, Any]  # {name, version}
    model: Mapping[str, Any]  # the fields of harness.types.ModelInfo
    protocol: Mapping[str, Any]  # {hash, task, data, prompt, sampling, grader, ...}
    metrics: Mapping[str, Any]  # harness.scoring.metrics.metrics_to_dict output
    counts: Mapping[str, int]  # verdict -> samples
    provenance: Mapping[str, Any]  # see provenance_now
    cost: Mapping[str, Any]  # {wall_seconds, generated_tokens, tokens_per_second, generation_seconds}
    samples_file: str  # relative to the score file's folder
    samples_sha256: str | None = None  # of the samples file; set by write_score_file, None in version 1
    schema_version: int = SCHEMA_VERSION
    # Code tasks: {"samples_flagged": n, "flags": {flag: samples}} (see harness/scoring/tamper.py).
    tampering: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class SampleRow:
    """One line of the samples file: a completion with its grade, enough to re-check by hand."""

    problem_id: str
    sample_index: int
    completion: str
    reasoning: str | None
    extracted: str | None
    verdict: str
    correct: bool
    output_tokens: int
    finish_reason: str
    detail: str | None
    seconds: float
    tampering: tuple[str, ...] = ()  # code tasks: what the program tried (written only when not empty)


_SAMPLE_FIELDS = tuple(f.name for f in fields(SampleRow))
_OPTIONAL_SAMPLE_FIELDS = ("tampering",)


def sample_row(completion: Completion, score: Score) -> SampleRow:
    return SampleRow(
        problem_id=completion.problem_id,
        sample_index=completion.sample_index,
        completion=completion.text,
        reasoning=completion.reasoning,
        extracted=score.extracted,
        verdict=score.verdict.value,
        correct=score.correct,
        output_tokens=completion.output_tokens,
        finish_reason=completion.finish_reason,
        detail=score.detail,
        seconds=completion.seconds,
        tampering=score.tampering,
    )


def write_task_score_file(
    output: Path,
    plan: TaskPlan,
    model_info: ModelInfo,
    graded: Sequence[tuple[Completion, Score]],
    wall_seconds: float,
    command: str | None,
    energy: EnergyMeasurement | None = None,
    prices: CostSettings | None = None,
) -> tuple[Path, ScoreFile]:
    """Assemble a task's score file from its graded completions (in plan order) and write it with its
    samples file. With `energy`, the cost block also holds energy and money (harness/cost/block.py)."""
    completions = [c for c, _ in graded]
    scores = [s for _, s in graded]
    metrics = compute_metrics(
        scores, [p.id for p in plan.loaded.problems], plan.sampling.n, bootstrap_seed=plan.sampling.seed
    )
    generated = sum(c.output_tokens for c in completions)
    generation_seconds = sum(c.seconds for c in completions)
    energy_and_money: dict[str, Any] = {}
    if energy is not None:
        totals = RunTotals(
            len(plan.loaded.problems), len(scores), sum(s.correct for s in scores), generated, wall_seconds
        )
        energy_and_money = run_cost_block(energy, prices or CostSettings(), totals)
    name = score_file_name(model_info.name, plan.spec.name, plan.run_id)
    record = ScoreFile(
        schema_version=SCHEMA_VERSION,
        run_id=plan.run_id,
        created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        task={"name": plan.spec.name, "version": plan.spec.version},
        model=asdict(model_info),
        protocol=dict(plan.protocol),
        metrics=metrics_to_dict(metrics),
        counts=dict(metrics.verdict_counts),
        provenance=provenance_now(command),
        cost={
            "wall_seconds": round(wall_seconds, 3),
            "generated_tokens": generated,
            "generation_seconds": round(generation_seconds, 3),
            "tokens_per_second": round(generated / generation_seconds, 2) if generation_seconds > 0 else None,
            **energy_and_money,
        },
        samples_file=name.removesuffix(".json") + ".samples.jsonl",
        # Graders that run code (they name their sandbox) count what programs tried; see scoring/tamper.py.
        tampering=tampering_counts(scores) if runs_code(plan) else None,
    )
    path = output / name
    rows = [sample_row(c, s) for c, s in graded]
    return path, write_score_file(path, record, rows)


@functools.cache
def score_file_schema() -> dict[str, Any]:
    text = resources.files("harness").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _plain(value: Any, where: str) -> Any:
    """JSON-ready copy: mappings become dicts, tuples lists, enums their value; anything else is an error."""
    if isinstance(value, Enum):
        value = value.value
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ScoreFileError(f"{where} is {value}, which JSON cannot hold; fix what produced it")
        return value
    if isinstance(value, Mapping):
        return {str(k): _plain(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise ScoreFileError(
        f"{where} holds a {type(value).__name__}, which a score file cannot store; "
        "convert it to a string, number, list or mapping first"
    )


def score_file_to_dict(record: ScoreFile) -> dict[str, Any]:
    """The JSON document; optional fields that are absent (None) are left out."""
    document = {f.name: _plain(getattr(record, f.name), f.name) for f in fields(ScoreFile)}
    for optional in ("samples_sha256", "tampering"):  # version-1 records have no samples_sha256
        if document[optional] is None:
            del document[optional]
    return document


def _sample_to_dict(row: SampleRow) -> dict[str, Any]:
    document = asdict(row)
    if not row.tampering:
        del document["tampering"]  # rows of tasks that run no code stay as they were
    return document


def _first_violation(document: Any) -> str | None:
    import jsonschema  # imported here so that `harness --help` does not pay for it

    validator = jsonschema.Draft202012Validator(score_file_schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(document))
    if error is None:
        return None
    return f"at {error.json_path}: {error.message}"


def validate_score_document(document: Any) -> None:
    """Raise ScoreFileError for the most relevant schema violation, naming its JSON path."""
    violation = _first_violation(document)
    if violation is not None:
        raise ScoreFileError(violation)


def _samples_path(score_path: Path, record: ScoreFile) -> Path:
    return score_path.parent / record.samples_file


def _check_rows(path: Path, record: ScoreFile, samples: Sequence[SampleRow]) -> None:
    expected = record.metrics.get("n_samples")
    if expected != len(samples):
        raise ScoreFileError(
            f"refusing to write {path}: metrics count {expected} samples but {len(samples)} "
            "sample rows were given; every scored sample must be in the samples file"
        )
    seen: set[tuple[str, int]] = set()
    for row in samples:
        key = (row.problem_id, row.sample_index)
        if key in seen:
            raise ScoreFileError(f"refusing to write {path}: sample {key} appears twice in the sample rows")
        seen.add(key)


def write_score_file(path: Path, record: ScoreFile, samples: Sequence[SampleRow]) -> ScoreFile:
    """Validate, then write the samples JSONL and the score file (each atomically, in that order).
    Returns the record as written: the current schema version, with the samples file's sha256."""
    path = Path(path)
    lines = [
        json.dumps(
            _plain(_sample_to_dict(row), f"sample {row.problem_id}#{row.sample_index}"),
            ensure_ascii=False,
            allow_nan=False,
        )
        for row in samples
    ]
    samples_text = "".join(line + "\n" for line in lines)
    digest = hashlib.sha256(samples_text.encode("utf-8")).hexdigest()
    record = replace(record, samples_sha256=digest, schema_version=SCHEMA_VERSION)
    document = score_file_to_dict(record)
    violation = _first_violation(document)
    if violation is not None:
        raise ScoreFileError(f"refusing to write invalid score file {path}: {violation}")
    _check_rows(path, record, samples)
    samples_path = _samples_path(path, record)
    samples_path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(samples_path, samples_text)
    write_text_atomic(path, json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
    return record


def _looks_like_score_file(document: Any) -> bool:
    return isinstance(document, dict) and ("schema_version" in document or "protocol" in document)


def read_score_file(path: Path, verify: bool = True) -> ScoreFile:
    """Read and validate a score file; errors name the file and the first problem found.

    With `verify` (the default) the numbers must also follow from the file's own record: the metrics from
    the per-problem tally, the samples file present and intact (see check_score_file). A file that fails
    raises InconsistentScoreFileError listing every discrepancy. `harness show` reads without it, to show
    such a file with its discrepancies marked."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ScoreFileError(f"cannot read score file {path}: {err}") from err
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise ScoreFileError(
            f"{path} is not valid JSON (line {err.lineno}, column {err.colno}: {err.msg}); "
            "it may have been cut off: rerun the evaluation to regenerate it"
        ) from err
    if not _looks_like_score_file(document):
        raise NotAScoreFileError(
            f"{path} is JSON but not a score file (no schema_version or protocol)",
            document.get("format") if isinstance(document, dict) else None,
        )
    version = document.get("schema_version")
    if version not in READABLE_VERSIONS:
        raise ScoreFileError(
            f"{path} has schema_version {version!r}; this harness reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS))}: use a matching harness version to read it"
        )
    violation = _first_violation(document)
    if violation is not None:
        raise ScoreFileError(f"{path} is not a valid score file: {violation}")
    record = ScoreFile(**{f.name: document.get(f.name) for f in fields(ScoreFile)})
    if verify:
        findings = check_score_file(path, record)
        if findings:
            raise InconsistentScoreFileError(f"{path}: the numbers do not add up: {'; '.join(findings)}")
    return record


def check_score_file(path: Path, record: ScoreFile, thorough: bool = False) -> list[str]:
    """Discrepancies between a score file's numbers and its record (empty: consistent).

    Always: the metrics against the per-problem tally, and the samples file present and unchanged (its
    sha256; version-1 files, which have none, row by row). `thorough` also recomputes every metric from
    the samples, the bootstrap interval included (see harness.score_checks)."""
    findings = metrics_findings(record.metrics, record.counts, record.protocol)
    samples_path = _samples_path(Path(path), record)
    try:
        data = samples_path.read_bytes()
    except OSError as err:
        return [*findings, f"its samples file {samples_path} cannot be read ({err.strerror or err})"]
    if record.samples_sha256 is not None and hashlib.sha256(data).hexdigest() != record.samples_sha256:
        lines = data.count(b"\n")
        findings.append(
            f"its samples file {samples_path} is not the one written with it (sha256 differs; {lines} "
            f"lines for {record.metrics.get('n_samples')} samples): it was cut off, edited or replaced"
        )
        return findings
    if record.samples_sha256 is None or thorough:
        try:
            rows = read_samples(Path(path), record)
        except ScoreFileError as err:
            return [*findings, str(err)]
        findings += samples_findings(rows, record.metrics, record.counts, record.cost.get("generated_tokens"))
        if thorough and not findings:
            findings += recomputed_findings(rows, record.metrics)
    return findings


def read_samples(score_file_path: Path, record: ScoreFile) -> list[SampleRow]:
    """The per-sample rows a score file points at, in file order."""
    path = _samples_path(Path(score_file_path), record)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise ScoreFileError(f"cannot read the samples file of {score_file_path}: {err}") from err
    rows = []
    for number, line in enumerate(lines, start=1):
        try:
            data = json.loads(line)
            if not isinstance(data, dict) or not (
                set(_SAMPLE_FIELDS) - set(_OPTIONAL_SAMPLE_FIELDS) <= set(data) <= set(_SAMPLE_FIELDS)
            ):
                raise ValueError(f"expected the fields {', '.join(_SAMPLE_FIELDS)}")
            if "tampering" in data:
                data["tampering"] = tuple(data["tampering"])
            rows.append(SampleRow(**data))
        except ValueError as err:
            raise ScoreFileError(f"{path}, line {number}: not a sample row ({err})") from err
    return rows


def _safe_part(text: str, what: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")
    if not cleaned:
        raise ValueError(f"the {what} {text!r} has no letters or digits to build a file name from")
    if len(cleaned) > 60:
        # Keep names short enough for every file system, and distinct by hashing the full text.
        cleaned = cleaned[:51] + "-" + hashlib.sha256(text.encode()).hexdigest()[:8]
    return cleaned


def score_file_name(model_name: str, task_name: str, run_id: str) -> str:
    """`<model>__<task>__<run>.json`, using only letters, digits, '.', '_' and '-'."""
    parts = (
        _safe_part(model_name, "model name"),
        _safe_part(task_name, "task name"),
        _safe_part(run_id, "run id"),
    )
    return "__".join(parts) + ".json"
