"""Write a PNG of the HTML leaderboard as a browser shows it, for people to look at.

    python scripts/screenshot_leaderboard.py RESULTS_DIR_OR_HTML_FILE OUT.png [--width 1400]

Given a results folder, the page is built from its score files first (without writing into the folder).
Needs Playwright for Python and Debian's Chromium at /usr/bin/chromium (no `playwright install`).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def page_file(source: Path, scratch: Path) -> Path:
    if source.is_file():
        return source
    from harness.reporting.leaderboard import build_leaderboard
    from harness.reporting.leaderboard_export import write_leaderboard
    from harness.reporting.reference_rows import DEFAULT_FILE_NAME, load_reference_rows

    default = source / DEFAULT_FILE_NAME
    references = load_reference_rows(default) if default.is_file() else ()
    [html_path] = write_leaderboard(build_leaderboard(source, references), scratch, ["html"])
    return html_path


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("source", type=Path, help="results folder or leaderboard.html")
    parser.add_argument("out", type=Path, help="PNG to write")
    parser.add_argument("--width", type=int, default=1400)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as scratch, sync_playwright() as p:
        html_path = page_file(args.source, Path(scratch))
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": args.width, "height": 900})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(html_path.resolve().as_uri())
        page.screenshot(path=str(args.out), full_page=True)
        browser.close()
    for error in errors:
        print(f"page error: {error}", file=sys.stderr)
    print(f"wrote {args.out}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
