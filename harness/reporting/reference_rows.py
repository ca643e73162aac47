"""Reported figures from papers and model cards: context for the leaderboard, never part of its ranking.

A reference row is a number someone else published under their own protocol (their prompts, sampling,
grader and problem versions). It is shown beside measured scores, always marked "reported, not
measured", and never sorted or ranked with them: the two are not comparable.

File format (YAML), a top-level `references` list; each entry:

    model: DeepSeek-R1                     # as the source names it
    benchmark: AIME 2024                   # what was evaluated, in the source's words
    metric: pass@1                         # e.g. pass@1, cons@64
    value: 79.8                            # percent, 0..100
    source: {title: "...", url: "https://arxiv.org/abs/2501.12948", where: "Table 4"}
    task: aime24                           # optional: the harness task it corresponds to
    note: "..."                            # optional: anything a reader must know
    id: r1-aime24-pass1                    # optional: a stable id (default: model, task, metric slugged)
    protocol:                              # optional: how the figure was produced, where the source says
      temperature: 0.6                     # each key only when the source states it
      top_p: 0.95
      max_new_tokens: 32768
      n: 64                                # samples per problem
      prompt_template: "{problem}\n..."    # the user prompt; {problem} is the problem
      system_prompt: null                  # null: the source says no system prompt
      task_options: {start_date: "2024-08-01"}   # e.g. a LiveCodeBench window
      stated_in: "where the source states this protocol"

`harness reproduce ID --model ...` (reporting/reproduce.py) runs a row's protocol and compares.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_FILE_NAME = "reference_rows.yaml"
REPORTED_MARK = "reported, not measured"

_REQUIRED = ("model", "benchmark", "metric", "value", "source")
_OPTIONAL = ("task", "note", "id", "protocol")
_SOURCE_KEYS = ("title", "url", "where")
_PROTOCOL_NUMBERS = {"temperature": float, "top_p": float, "max_new_tokens": int, "n": int}
_PROTOCOL_TEXTS = ("prompt_template", "system_prompt")
_PROTOCOL_KEYS = (*_PROTOCOL_NUMBERS, *_PROTOCOL_TEXTS, "task_options", "stated_in")
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


@dataclass(frozen=True)
class ReportedProtocol:
    """The settings a source says its figure was produced with; None where it does not say."""

    stated_in: str
    temperature: float | None = None
    top_p: float | None = None
    max_new_tokens: int | None = None
    n: int | None = None
    prompt_template: str | None = None
    system_prompt: str | None = None
    task_options: Mapping[str, Any] = field(default_factory=dict)
    stated: tuple[str, ...] = ()  # which keys the source states (system_prompt None may be stated)


class ReferenceRowsError(ValueError):
    """A reference rows file that cannot be used as it stands."""


@dataclass(frozen=True)
class ReferenceRow:
    model: str
    benchmark: str
    metric: str
    value: float  # percent
    source_title: str
    source_url: str  # a URL, or "arXiv:NNNN.NNNNN"
    source_where: str | None  # table or section inside the source
    task: str | None = None
    note: str | None = None
    id: str = ""  # stable id; load_reference_rows fills in the default
    protocol: ReportedProtocol | None = None

    @property
    def citation(self) -> str:
        where = f", {self.source_where}" if self.source_where else ""
        return f"{self.source_title}{where} ({self.source_url})"


def _text(entry: Mapping[str, Any], key: str, where: str, required: bool = True) -> str | None:
    value = entry.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ReferenceRowsError(f"{where}: '{key}' must be non-empty text, got {value!r}")
    return value.strip()


def _refuse_unknown_keys(mapping: Mapping[str, Any], allowed: tuple[str, ...], what: str) -> None:
    unknown = sorted(set(mapping) - set(allowed))
    if unknown:
        raise ReferenceRowsError(f"{what} {unknown}; allowed: {list(allowed)}")


def _source(entry: Mapping[str, Any], where: str) -> tuple[str, str, str | None]:
    source = entry["source"]
    if not isinstance(source, Mapping):
        raise ReferenceRowsError(f"{where}: 'source' must be a mapping with title and url, got {source!r}")
    _refuse_unknown_keys(source, _SOURCE_KEYS, f"{where}: unknown source keys")
    title = _text(source, "title", f"{where}.source")
    url = _text(source, "url", f"{where}.source")
    assert title is not None and url is not None
    if not url.startswith(("https://", "http://", "arXiv:")):
        raise ReferenceRowsError(
            f"{where}.source: 'url' must start with https://, http:// or arXiv:, got {url!r}"
        )
    return title, url, _text(source, "where", f"{where}.source", required=False)


def _protocol(raw: Any, where: str) -> ReportedProtocol:
    if not isinstance(raw, Mapping):
        raise ReferenceRowsError(f"{where}: 'protocol' must be a mapping, got {raw!r}")
    _refuse_unknown_keys(raw, _PROTOCOL_KEYS, f"{where}.protocol: unknown keys")
    stated_in = _text(raw, "stated_in", f"{where}.protocol")
    values: dict[str, Any] = {}
    for key, kind in _PROTOCOL_NUMBERS.items():
        value = raw.get(key)
        if value is None:
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or value < 0
            or kind(value) != value
        ):
            what = "whole number" if kind is int else "number"
            raise ReferenceRowsError(f"{where}.protocol: '{key}' must be a {what} ≥ 0, got {value!r}")
        values[key] = kind(value)
    for key in _PROTOCOL_TEXTS:
        value = raw.get(key)
        if value is not None and not isinstance(value, str):
            raise ReferenceRowsError(f"{where}.protocol: '{key}' must be text or null, got {value!r}")
        values[key] = value
    template = values.get("prompt_template")
    if template is not None and "{problem}" not in template:
        raise ReferenceRowsError(f"{where}.protocol: 'prompt_template' must contain {{problem}}")
    options = raw.get("task_options") or {}
    if not isinstance(options, Mapping):
        raise ReferenceRowsError(f"{where}.protocol: 'task_options' must be a mapping, got {options!r}")
    stated = tuple(key for key in _PROTOCOL_KEYS if key in raw and key != "stated_in")
    return ReportedProtocol(str(stated_in), task_options=dict(options), stated=stated, **values)


def default_id(model: str, task_or_benchmark: str, metric: str) -> str:
    """`deepseek-r1-aime24-pass-1`: model, task (or benchmark) and metric, lower case, slugged."""
    return re.sub(r"[^a-z0-9.]+", "-", f"{model} {task_or_benchmark} {metric}".lower()).strip("-.")


def _row(entry: Any, where: str) -> ReferenceRow:
    if not isinstance(entry, Mapping):
        raise ReferenceRowsError(f"{where}: expected a mapping with {', '.join(_REQUIRED)}; got {entry!r}")
    missing = [key for key in _REQUIRED if key not in entry]
    if missing:
        raise ReferenceRowsError(f"{where}: missing {', '.join(missing)}; every figure needs a source")
    _refuse_unknown_keys(entry, _REQUIRED + _OPTIONAL, f"{where}: unknown keys")
    label = f"{where} ({entry.get('model')} / {entry.get('benchmark')})"
    value = entry["value"]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
        raise ReferenceRowsError(f"{label}: 'value' must be a percentage between 0 and 100, got {value!r}")
    title, url, source_where = _source(entry, label)
    model, benchmark = str(_text(entry, "model", label)), str(_text(entry, "benchmark", label))
    metric, task = str(_text(entry, "metric", label)), _text(entry, "task", label, required=False)
    row_id = _text(entry, "id", label, required=False) or default_id(model, task or benchmark, metric)
    if not _ID.match(row_id):
        raise ReferenceRowsError(
            f"{label}: 'id' {row_id!r} must be lower case letters, digits, '.', '_', '-'"
        )
    protocol = _protocol(entry["protocol"], label) if entry.get("protocol") is not None else None
    return ReferenceRow(
        model=model,
        benchmark=benchmark,
        metric=metric,
        value=float(value),
        source_title=title,
        source_url=url,
        source_where=source_where,
        task=task,
        note=_text(entry, "note", label, required=False),
        id=row_id,
        protocol=protocol,
    )


def load_reference_rows(path: Path) -> tuple[ReferenceRow, ...]:
    """Read and validate a reference rows file; errors name the file and the entry."""
    import yaml  # the leaderboard reads YAML only when a reference file is used

    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ReferenceRowsError(f"cannot read reference rows file {path}: {err}") from err
    except yaml.YAMLError as err:
        raise ReferenceRowsError(f"{path} is not valid YAML: {err}") from err
    if not isinstance(document, Mapping) or not isinstance(document.get("references"), list):
        raise ReferenceRowsError(f"{path}: expected a top-level 'references:' list of entries")
    try:
        rows = tuple(_row(entry, f"references[{i}]") for i, entry in enumerate(document["references"]))
    except ReferenceRowsError as err:
        raise ReferenceRowsError(f"{path}: {err}") from None
    seen: set[tuple[str, str, str]] = set()
    ids: set[str] = set()
    for i, row in enumerate(rows):
        key = (row.model, row.benchmark, row.metric)
        if key in seen:
            raise ReferenceRowsError(f"{path}: references[{i}] repeats {' / '.join(key)}; keep one figure")
        if row.id in ids:
            raise ReferenceRowsError(f"{path}: references[{i}] repeats the id {row.id!r}; ids must be unique")
        seen.add(key)
        ids.add(row.id)
    return rows


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def references_markdown(rows: Sequence[ReferenceRow]) -> list[str]:
    """A separate Markdown section, so reported figures never sit inside the measured table."""
    if not rows:
        return []
    lines = [
        "",
        f"## Reported figures ({REPORTED_MARK})",
        "",
        "Published by others under their own protocols; not produced by this harness and not comparable "
        "with the measured columns above.",
        "",
        "| id | model | benchmark | metric | reported % | source |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        values = [row.id, row.model, row.benchmark, row.metric, f"{row.value:.1f}", row.citation]
        lines.append("| " + " | ".join(_md(v) for v in values) + " |")
    return lines


def references_html(rows: Sequence[ReferenceRow]) -> str:
    """The same section for the HTML page, every text escaped."""
    if not rows:
        return ""
    body = []
    for row in rows:
        link = html.escape(row.source_url)
        href = row.source_url.replace("arXiv:", "https://arxiv.org/abs/")
        where = f", {html.escape(row.source_where)}" if row.source_where else ""
        note = f"<br><small>{html.escape(row.note)}</small>" if row.note else ""
        body.append(
            f"<tr><td><code>{html.escape(row.id)}</code></td>"
            f"<td>{html.escape(row.model)}</td><td>{html.escape(row.benchmark)}</td>"
            f"<td>{html.escape(row.metric)}</td><td class=num>{row.value:.1f}</td>"
            f'<td>{html.escape(row.source_title)}{where} (<a href="{html.escape(href)}">{link}</a>){note}'
            "</td></tr>"
        )
    return (
        f'<section id="reported"><h2>Reported figures <span class="reported">{REPORTED_MARK}</span></h2>'
        "<p>Published by others under their own protocols; not produced by this harness, not ranked and "
        "not comparable with the measured table.</p>"
        '<table class="reported-table"><thead><tr><th>id</th><th>model</th><th>benchmark</th><th>metric</th>'
        "<th>reported %</th><th>source</th></tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table></section>"
    )
