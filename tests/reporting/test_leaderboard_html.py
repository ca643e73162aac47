"""The HTML leaderboard: its content as a string, then the page in a real headless Chromium."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.reporting.leaderboard import build_leaderboard
from harness.reporting.leaderboard_export import render_json, write_leaderboard
from harness.reporting.leaderboard_html import chart_labels, render_html
from harness.reporting.reference_rows import ReferenceRow
from tests.reporting.score_files import PROTOCOL_B, write_result

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
EVIL = '<script>alert("x")</script>&co'
R, W = True, False


def set_harness_version(path: Path, version: str) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    document["provenance"]["harness_version"] = version
    path.write_text(json.dumps(document), encoding="utf-8")


@pytest.fixture
def board_dir(tmp_path: Path) -> Path:
    """Three models on one protocol (mid, top, low by accuracy), one on a second protocol, one odd version."""
    write_result(tmp_path, "mid-model", [[R], [R], [W], [W]], tokens_per_sample=200)
    write_result(tmp_path, "top-model", [[R], [R], [R], [W]], tokens_per_sample=900)
    low = write_result(tmp_path, EVIL, [[W], [R], [W], [W]], tokens_per_sample=50)
    write_result(tmp_path, "mid-model", [[R, W]] * 4, protocol=PROTOCOL_B, run_id="run2")
    set_harness_version(low, "0.0.1-old")
    return tmp_path


def reference() -> ReferenceRow:
    return ReferenceRow(
        "Paper-Model <b>",
        "AIME 2024",
        "pass@1",
        79.8,
        "A paper",
        "https://arxiv.org/abs/2501.12948",
        "Table 4",
        "aime24",
    )


def test_page_is_self_contained_escaped_and_marked(board_dir: Path) -> None:
    page = render_html(build_leaderboard(board_dir, [reference()]))
    assert EVIL not in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;co" in page
    assert "Paper-Model &lt;b&gt;" in page
    # No network: nothing is loaded from elsewhere (the only URL is the reference's link and SVG's namespace).
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", page)
    assert page.count("<svg") == 3 * 2  # per column: score bars + two efficiency charts
    assert 'id="version-banner"' in page and "0.0.1-old" in page
    assert 'id="protocol-banner"' in page and page.count('class="mark protocol-mark"') == 2
    assert page.count('class="mark version-mark"') == 1
    assert "greedy, n=1, max 256 new tokens; 4 problems (no options); grader exact v1" in page
    assert "temperature 0.6, top_p 0.95, n=2" in page
    # Rank intervals in the column of three models; the model alone under protocol B has none.
    assert page.count('<span class="rank"') == 3 and "Rank: the places in its column the data" in page
    # Reported figures sit in their own section, after the measured table, never inside it.
    board_table = page[page.index('<table id="board"') : page.index("</table>")]
    assert "Paper-Model" not in board_table
    assert page.index('id="reported"') > page.index('id="board"') and "reported, not measured" in page


def test_problem_grid_puts_separating_problems_first(board_dir: Path) -> None:
    page = render_html(build_leaderboard(board_dir))
    grid = page[page.index('id="grids"') :]
    first_grid = grid[: grid.index("</table>")]
    order = re.findall(r"<tr><th>(p\d)</th>", first_grid)
    # p0..p3 solved by (mid, top, low) = (1,1,0), (1,1,1), (0,1,0), (0,0,0): p1 and p3 separate no one.
    assert order[-2:] == ["p3", "p1"] and set(order[:2]) == {"p0", "p2"}


def test_json_export_keeps_reported_figures_apart(board_dir: Path, tmp_path: Path) -> None:
    lb = build_leaderboard(board_dir, [reference()])
    document: dict[str, Any] = json.loads(render_json(lb))
    assert [r["model"] for r in document["rows"]] == ["top-model", "mid-model", EVIL]
    assert {c["model"] for c in document["cells"]} == {"top-model", "mid-model", EVIL}
    assert document["reported"][0]["kind"] == "reported, not measured"
    assert document["reported"][0]["value"] == 79.8
    top = next(c for c in document["cells"] if c["model"] == "top-model")
    assert top["accuracy"] == 0.75 and top["tokens_per_sample"] == 900 and top["n_problems"] == 4
    out = tmp_path / "out"
    written = write_leaderboard(lb, out, ["md", "csv", "html", "json"])
    assert [p.name for p in written] == [f"leaderboard.{f}" for f in ("md", "csv", "html", "json")]
    assert "## Reported figures (reported, not measured)" in written[0].read_text(encoding="utf-8")
    table = list(csv.DictReader(io.StringIO(written[1].read_text(encoding="utf-8"))))
    assert [r["kind"] for r in table] == ["measured"] * 4 + ["reported, not measured"]
    assert table[-1]["model"] == "Paper-Model <b>" and float(table[-1]["accuracy"]) == pytest.approx(0.798)
    assert table[-1]["source"] == "A paper, Table 4 (https://arxiv.org/abs/2501.12948)"


def test_a_board_written_into_its_results_folder_is_not_read_back_as_a_foreign_file(board_dir: Path) -> None:
    (board_dir / "foreign.json").write_text('{"columns": []}', encoding="utf-8")
    write_leaderboard(build_leaderboard(board_dir), board_dir, ["md", "json"])
    again = build_leaderboard(board_dir)
    assert [p.name for p, _ in again.skipped] == ["foreign.json"]
    assert len(again.cells) == len(build_leaderboard(board_dir).cells) == 4


# ---- the page in a real browser -------------------------------------------------------------------


@pytest.fixture
def page_in_browser(board_dir: Path, tmp_path: Path) -> Iterator[tuple[Any, list[str]]]:
    if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    [html_path] = write_leaderboard(build_leaderboard(board_dir, [reference()]), tmp_path / "o", ["html"])
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("request", lambda r: problems.append(r.url) if not r.url.startswith("file:") else None)
        page.goto(html_path.as_uri())
        yield page, problems
        browser.close()


def model_order(page: Any) -> list[str]:
    return page.eval_on_selector_all("#board tbody tr", "rows => rows.map(r => r.cells[0].textContent)")


def test_page_loads_without_errors_or_requests(page_in_browser: tuple[Any, list[str]]) -> None:
    page, problems = page_in_browser
    assert problems == []
    assert page.title() == "Leaderboard"
    assert page.locator("#reported td").nth(1).text_content() == "Paper-Model <b>"  # after the id


def test_clicking_headers_sorts_rows(page_in_browser: tuple[Any, list[str]]) -> None:
    page, _ = page_in_browser
    assert model_order(page) == ["top-model", "mid-model", EVIL]  # ranked by mean accuracy
    page.click('#board th[data-col="0"]')  # names, alphabetical ("<" sorts before letters)
    assert model_order(page) == [EVIL, "mid-model", "top-model"]
    assert page.get_attribute('#board th[data-col="0"]', "aria-sort") == "ascending"
    page.click('#board th[data-col="4"]')  # the first toy column: highest accuracy first
    assert model_order(page) == ["top-model", "mid-model", EVIL]
    assert page.get_attribute('#board th[data-col="4"]', "aria-sort") == "descending"
    assert page.get_attribute('#board th[data-col="0"]', "aria-sort") is None
    page.click('#board th[data-col="4"]')  # second click: lowest first
    assert model_order(page) == [EVIL, "mid-model", "top-model"]
    page.click('#board th[data-col="5"]')  # only mid-model has a score here; empty cells go last
    assert model_order(page)[0] == "mid-model"
    page.click('#board th[data-col="6"]')  # avg tokens per sample (900, 133, 50), most first
    assert model_order(page) == ["top-model", "mid-model", EVIL]


def test_charts_render_with_size(page_in_browser: tuple[Any, list[str]]) -> None:
    page, _ = page_in_browser
    charts = page.locator("svg.chart")
    assert charts.count() == 6
    for i in range(charts.count()):
        box = charts.nth(i).bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 50
    bars = page.locator("svg.bars").first.locator("rect.bar")
    widths = [bars.nth(i).bounding_box()["width"] for i in range(bars.count())]
    assert len(widths) == 3 and widths == sorted(widths, reverse=True) and widths[0] > widths[-1] > 0
    assert page.locator("svg.scatter circle.dot").count() == 2 * 4


def test_chart_labels_say_what_tells_rows_apart(tmp_path: Path) -> None:
    one = write_result(tmp_path, "smollm2-135m-instruct", [[R], [W]])
    two = write_result(tmp_path, "smollm2-135m-instruct", [[R], [R]], run_id="run2")
    document = json.loads(two.read_text())
    document["model"].update(backend="llamacpp", dtype="Q4_1")  # the same model on another engine
    two.write_text(json.dumps(document))
    board = build_leaderboard(tmp_path)
    labels, legend = chart_labels(board)
    assert sorted(labels.values()) == ["hf · float32", "llamacpp · Q4_1"]
    assert ("hf · float32", "smollm2-135m-instruct (hf, float32, revision rev1)") in legend
    page = render_html(board)
    assert ">hf · float32</text>" in page and ">llamacpp · Q4_1</text>" in page and "(sh…" not in page
    assert 'id="chart-legend"' in page
    assert "smollm2-135m-instruct (hf, float32)" in page  # the table's name column tells them apart too
    one.unlink()
    two.unlink()
    long = "a-model-name-well-beyond-the-room-of-a-chart-"
    write_result(tmp_path, long + "one", [[R]])
    write_result(tmp_path, long + "two", [[W]])
    labels, legend = chart_labels(build_leaderboard(tmp_path))
    assert sorted(labels.values()) == ["M1", "M2"]  # cut, the names would look alike
    assert [full.split(" (")[0] for _, full in legend] == [long + "one", long + "two"]


def test_charts_sit_on_a_regular_grid(page_in_browser: tuple[Any, list[str]]) -> None:
    page, _ = page_in_browser
    page.set_viewport_size({"width": 1400, "height": 900})
    boxes = [page.locator("svg.chart").nth(i).bounding_box() for i in range(6)]
    rows = [boxes[:3], boxes[3:]]  # one row of three charts per board column
    for row in rows:
        assert len({round(b["y"]) for b in row}) == 1, row  # none wrapped onto a row of its own
    for position in range(3):
        assert len({round(row[position]["x"]) for row in rows}) == 1  # and the columns line up
    assert len({round(b["width"]) for b in boxes}) == 1
