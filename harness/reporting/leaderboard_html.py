"""The leaderboard as one self-contained HTML page: sortable table, charts, problem grids, protocols.

Everything is inline (CSS, a few lines of JavaScript for sorting, SVG charts built in Python), so the
page opens from disk, offline, and can be mailed around. Every piece of text from score files is
escaped: model names and task options are user input.
"""

from __future__ import annotations

import statistics
from collections import Counter

from harness.reporting.frontier_html import frontier_section
from harness.reporting.labels import chart_labels
from harness.reporting.labels import esc as _esc
from harness.reporting.labels import model_label as _model_label
from harness.reporting.leaderboard import (
    RANKS_EXPLAINED,
    Cell,
    ColumnKey,
    Leaderboard,
    ModelKey,
    describe_protocol,
    harness_version,
)
from harness.reporting.plots import Point, efficiency_svg, score_bars_svg
from harness.reporting.reference_rows import references_html

GRID_LIMIT = 60  # problems shown per grid; the most separating ones first

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1d2430;background:#fff}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #dde}h3{font-size:15px}
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #d6dae3;padding:4px 8px;vertical-align:top}
thead th{background:#f1f3f8}th.sortable{cursor:pointer;user-select:none}
th.sortable:hover{background:#e2e7f2}th[aria-sort=ascending]::after{content:" ▲"}
th[aria-sort=descending]::after{content:" ▼"}td.num,td.score{text-align:right;white-space:nowrap}
.ci,.n,.rank{color:#5b6475;font-size:12px}.rank{cursor:help}.missing{color:#9aa}.mark{color:#b3261e;font-weight:bold;cursor:help}
.banner{background:#fff4e5;border:1px solid #f0c36d;padding:8px 12px;margin:8px 0}
.reported{background:#eef;border:1px dashed #88a;padding:1px 6px;font-size:12px;font-weight:normal}
.proto{font-size:12px;color:#5b6475;font-weight:normal}
.chart-grid{display:grid;grid-template-columns:repeat(3,minmax(0,440px));gap:12px 16px;align-items:start}
.chart-grid h3{grid-column:1/-1;margin:18px 0 0}.legend{font-size:13px}.legend ul{margin:4px 0}
@media (max-width:900px){.chart-grid{grid-template-columns:minmax(0,440px)}}
svg.chart{border:1px solid #e3e6ee;background:#fcfcfe;width:100%;height:auto}
svg .title{font-weight:600;font-size:13px}
svg .grid{stroke:#e6e8ef}svg .tick,svg .axis{font-size:11px;fill:#5b6475}
svg .label{font-size:12px;paint-order:stroke;stroke:#fcfcfe;stroke-width:3px;stroke-linejoin:round}
svg .value{font-size:12px}svg .bar{fill:#7aa6e0}svg .ci{stroke:#1d2430;stroke-width:1.5}
svg .dot{fill:#d9534f}svg .dot.frontier{fill:#1d7a3a}
svg .frontier-line{fill:none;stroke:#1d7a3a;stroke-dasharray:4 3}
.frontier-grid table{grid-column:1/-1}tr.on-frontier td{background:#eef7ef}
table.grid td{text-align:center;font-size:12px;min-width:34px}
table.grid th{font-size:12px;font-weight:normal}
"""

# Sorting: numbers descending on first click, text ascending; empty cells always last.
_JS = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th.sortable").forEach(function (th) {
    th.addEventListener("click", function () {
      var col = Number(th.dataset.col), numeric = th.dataset.kind === "num";
      var dir = th.getAttribute("aria-sort") === (numeric ? "descending" : "ascending") ? -1 : 1;
      if (numeric) dir = -dir;
      table.querySelectorAll("th.sortable").forEach(function (o) { o.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[col].dataset.value, y = b.cells[col].dataset.value;
        if (x === "" || y === "") return (x === "") - (y === "");
        var c = numeric ? Number(x) - Number(y) : x.localeCompare(y);
        return c * dir;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
"""


def _common_version(lb: Leaderboard) -> str | None:
    versions = Counter(harness_version(cell) for cell in lb.cells.values())
    return versions.most_common(1)[0][0] if versions else None


def _multi_protocol_tasks(lb: Leaderboard) -> set[str]:
    counts = Counter(col.task for col in lb.columns)
    return {task for task, count in counts.items() if count > 1}


def _score_td(cell: Cell | None, common_version: str | None, rank: str | None = None) -> str:
    if cell is None:
        return '<td class="score missing" data-value="">–</td>'
    lo, hi = cell.ci95
    mark = ""
    if harness_version(cell) != common_version:
        mark = (
            f' <span class="mark version-mark" title="produced by harness {_esc(harness_version(cell))}; '
            f'most cells by {_esc(common_version)}">†</span>'
        )
    rank_span = ""
    if rank is not None:
        rank_span = f'<br><span class="rank" title="{_esc(RANKS_EXPLAINED)}">{_esc(rank)}</span>'
    return (
        f'<td class="score" data-value="{cell.accuracy:.6f}"><b>{100 * cell.accuracy:.1f}</b>{mark}<br>'
        f'<span class="ci">[{100 * lo:.1f}, {100 * hi:.1f}]</span> '
        f'<span class="n">n={cell.n_problems}×{cell.samples_per_problem}</span>{rank_span}</td>'
    )


def _header(lb: Leaderboard) -> str:
    multi = _multi_protocol_tasks(lb)
    groups: list[tuple[str, int]] = []
    for col in lb.columns:
        if groups and groups[-1][0] == col.task:
            groups[-1] = (col.task, groups[-1][1] + 1)
        else:
            groups.append((col.task, 1))
    top = '<tr><th colspan="4">model</th>' + "".join(
        f'<th colspan="{span}">{_esc(task)}</th>' for task, span in groups
    )
    top += "<th></th></tr>"
    names = ["name", "backend", "dtype", "revision"]
    cells = [
        f'<th class="sortable" data-col="{i}" data-kind="text">{name}</th>' for i, name in enumerate(names)
    ]
    for j, col in enumerate(lb.columns, start=len(names)):
        mark = ""
        if col.task in multi:
            mark = (
                ' <span class="mark protocol-mark" title="this task was run under several protocols; '
                'columns are not comparable with each other">≠</span>'
            )
        tip = _esc(describe_protocol(lb.protocols[col]))
        # Labels of multi-protocol tasks carry the hash already.
        hash_line = "" if mark else f'<br><span class="proto">p:{_esc(col.protocol_hash[:8])}</span>'
        cells.append(
            f'<th class="sortable" data-col="{j}" data-kind="num" title="{tip}">{_esc(lb.column_labels[col])}'
            f"{mark}{hash_line}</th>"
        )
    last = len(names) + len(lb.columns)
    cells.append(f'<th class="sortable" data-col="{last}" data-kind="num">avg tokens/sample</th>')
    return f"<thead>{top}<tr>{''.join(cells)}</tr></thead>"


def _table(lb: Leaderboard) -> str:
    common = _common_version(lb)
    body = []
    for rank, row in enumerate(lb.rows):
        tokens = lb.tokens_per_sample(row)
        tds = [
            f'<td data-value="{_esc(_model_label(lb, row))}">{_esc(_model_label(lb, row))}</td>',
            f'<td data-value="{_esc(row.backend)}">{_esc(row.backend)}</td>',
            f'<td data-value="{_esc(row.dtype)}">{_esc(row.dtype)}</td>',
            f'<td data-value="{_esc(row.revision)}">{_esc(row.revision[:12] or "–")}</td>',
            *(_score_td(lb.cells.get((row, col)), common, lb.rank_text(row, col)) for col in lb.columns),
            f'<td class="num" data-value="{"" if tokens is None else f"{tokens:.3f}"}">'
            f"{'–' if tokens is None else f'{tokens:.0f}'}</td>",
        ]
        body.append(f'<tr data-rank="{rank}">{"".join(tds)}</tr>')
    return f'<table id="board" class="sortable">{_header(lb)}<tbody>{"".join(body)}</tbody></table>'


def _banners(lb: Leaderboard) -> str:
    parts = []
    common = _common_version(lb)
    versions = sorted({harness_version(c) for c in lb.cells.values()})
    if len(versions) > 1:
        parts.append(
            f'<div class="banner" id="version-banner"><span class="mark">†</span> Scores come from several '
            f"harness versions ({_esc(', '.join(versions))}); cells marked † were not produced by "
            f"{_esc(common)}, the version of most cells.</div>"
        )
    protocol_notes = [n for n in lb.notes if "protocols" in n]
    if protocol_notes:
        items = "".join(f"<li>{_esc(n)}</li>" for n in protocol_notes)
        parts.append(
            f'<div class="banner" id="protocol-banner"><span class="mark">≠</span> Some tasks were run '
            f"under different protocols; their columns are not comparable:<ul>{items}</ul></div>"
        )
    return "".join(parts)


def _protocols(lb: Leaderboard) -> str:
    rows = []
    for col in lb.columns:
        cells = [c for (_, k), c in lb.cells.items() if k == col]
        versions = ", ".join(sorted({harness_version(c) for c in cells}))
        rows.append(
            f"<tr><td>{_esc(lb.column_labels[col])}</td><td>{_esc(col.task)} v{_esc(col.version)}</td>"
            f"<td><code>{_esc(col.protocol_hash)}</code></td><td>{_esc(describe_protocol(lb.protocols[col]))}</td>"
            f"<td>{_esc(versions)}</td></tr>"
        )
    return (
        '<section id="protocols"><h2>Protocols</h2><table><thead><tr><th>column</th><th>task</th>'
        "<th>protocol hash</th><th>in plain words</th><th>harness versions</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )


def _column_points(lb: Leaderboard, col: ColumnKey, labels: dict[ModelKey, str]) -> list[Point]:
    points = []
    for row in lb.rows:
        cell = lb.cells.get((row, col))
        if cell is not None:
            points.append(
                Point(
                    label=labels[row],
                    accuracy=cell.accuracy,
                    ci95=cell.ci95,
                    tokens_per_sample=cell.generated_tokens / cell.n_samples,
                    seconds_per_problem=float(cell.record.cost["wall_seconds"]) / cell.n_problems,
                )
            )
    return points


def _charts(lb: Leaderboard) -> str:
    """One grid: a row per column of the board (its title across), the same three charts in each."""
    labels, legend = chart_labels(lb)
    cells = []
    for col in lb.columns:
        label = lb.column_labels[col]
        points = _column_points(lb, col, labels)
        cells.append(
            f'<h3>{_esc(label)} <span class="proto">{_esc(describe_protocol(lb.protocols[col]))}</span></h3>'
        )
        cells.append(score_bars_svg(points, "accuracy % with 95% CI", f"{label}: accuracy % with 95% CI"))
        for field, unit in (("tokens_per_sample", "avg tokens per sample"),
                            ("seconds_per_problem", "wall seconds per problem")):  # fmt: skip
            cells.append(
                efficiency_svg(points, f"accuracy vs {unit}", field, unit, f"{label}: accuracy vs {unit}")
            )
    key = ""
    if legend:
        items = "".join(f"<li><b>{_esc(short)}</b>: {_esc(full)}</li>" for short, full in legend)
        key = f'<div class="legend" id="chart-legend">Chart labels:<ul>{items}</ul></div>'
    return (
        f'<section id="charts"><h2>Scores and efficiency</h2>{key}'
        f'<div class="chart-grid">{"".join(cells)}</div></section>'
    )


def _grid_order(solved: dict[str, list[float | None]]) -> list[str]:
    """Problems that separate models most first (spread of solved fractions), then hardest first."""

    def key(pid: str) -> tuple[float, float, str]:
        values = [v for v in solved[pid] if v is not None]
        spread = statistics.pstdev(values) if len(values) > 1 else 0.0
        return (-spread, statistics.fmean(values) if values else 0.0, pid)

    return sorted(solved, key=key)


def _grid(lb: Leaderboard, col: ColumnKey) -> str:
    rows = [r for r in lb.rows if (r, col) in lb.cells]
    per_model = [lb.cells[(r, col)].record.metrics.get("per_problem", {}) for r in rows]
    ids = sorted({pid for pp in per_model for pid in pp})
    solved = {pid: [pp[pid][0] / pp[pid][1] if pid in pp else None for pp in per_model] for pid in ids}
    order = _grid_order(solved)
    shown = order[:GRID_LIMIT]
    head = "".join(f"<th>{_esc(_model_label(lb, r))}</th>" for r in rows)
    body = []
    for pid in shown:
        tds = []
        for value, pp in zip(solved[pid], per_model, strict=True):
            if value is None:
                tds.append('<td class="missing">–</td>')
                continue
            correct, n = pp[pid]
            hue = int(120 * value)  # red (0) for unsolved through green (120) for always solved
            tds.append(
                f'<td style="background:hsl({hue},65%,82%)" title="{correct} of {n}">{correct}/{n}</td>'
            )
        body.append(f"<tr><th>{_esc(pid)}</th>{''.join(tds)}</tr>")
    more = (
        f" (showing the {len(shown)} most separating of {len(order)} problems)"
        if len(order) > len(shown)
        else ""
    )
    return (
        f"<h3>{_esc(lb.column_labels[col])}{_esc(more)}</h3>"
        f'<table class="grid"><thead><tr><th>problem</th>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _notes(lb: Leaderboard) -> str:
    parts = []
    if lb.notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{_esc(n)}</li>" for n in lb.notes) + "</ul>")
    if lb.skipped:
        items = "".join(f"<li><code>{_esc(p)}</code>: {_esc(why)}</li>" for p, why in lb.skipped)
        parts.append(f"<h2>Skipped files</h2><ul>{items}</ul>")
    return "".join(parts)


def render_html(lb: Leaderboard) -> str:
    """The whole page as one string (UTF-8, no external resources)."""
    if lb.rows:
        main = _banners(lb) + _table(lb) + _protocols(lb) + _charts(lb) + frontier_section(lb)
        grids = "".join(_grid(lb, col) for col in lb.columns)
        main += f'<section id="grids"><h2>Problems by model (solved samples / n)</h2>{grids}</section>'
    else:
        main = f"<p>No score files found under {_esc(lb.results_dir)}.</p>"
    intro = (
        "Accuracy in % (mean over all samples, i.e. pass@1 averaged over n) with its 95% bootstrap "
        "confidence interval over problems; n = problems × samples per problem. Only scores in the same "
        "column share a protocol and can be compared. Click a column header to sort."
    )
    if lb.ranks:
        intro += f" {RANKS_EXPLAINED[0].upper()}{RANKS_EXPLAINED[1:]}."
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Leaderboard</title><style>{_CSS}</style></head><body><h1>Leaderboard</h1><p>{intro}</p>"
        f"{main}{references_html(lb.references)}{_notes(lb)}<script>{_JS}</script></body></html>\n"
    )
