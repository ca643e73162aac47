"""Copy the leaderboard table of results/leaderboard.md into the README, between its results markers.

    python scripts/readme_results.py [--leaderboard results/leaderboard.md] [--readme README.md] [--check]

The README's results section is never typed by hand: `make results` reruns the shipped runs, rebuilds the
leaderboard and calls this script. `--check` exits 1 when the README is out of date instead of writing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

START = "<!-- results-table -->"
END = "<!-- /results-table -->"


def leaderboard_body(markdown: str) -> str:
    """The leaderboard file without its top-level title (the README has its own heading)."""
    lines = markdown.splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    # The leaderboard's own sections become subsections of the README's "The leaderboard".
    lines = ["#" + line if line.startswith("## ") else line for line in lines]
    return "\n".join(lines).strip("\n")


def splice(readme: str, body: str, readme_name: str) -> str:
    if readme.count(START) != 1 or readme.count(END) > 1:
        raise SystemExit(f"{readme_name}: needs exactly one {START} marker (and at most one {END})")
    head, rest = readme.split(START, 1)
    tail = rest.split(END, 1)[1] if END in rest else rest
    note = "<!-- written by scripts/readme_results.py from results/leaderboard.md; do not edit -->"
    return f"{head}{START}\n{note}\n\n{body}\n\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leaderboard", type=Path, default=Path("results/leaderboard.md"))
    parser.add_argument("--readme", type=Path, default=Path("README.md"))
    parser.add_argument("--check", action="store_true", help="exit 1 if the README is out of date")
    args = parser.parse_args(argv)
    if not args.leaderboard.is_file():
        print(f"error: {args.leaderboard} does not exist (run `harness leaderboard`)", file=sys.stderr)
        return 2
    readme = args.readme.read_text(encoding="utf-8")
    updated = splice(readme, leaderboard_body(args.leaderboard.read_text(encoding="utf-8")), str(args.readme))
    if args.check:
        if updated != readme:
            print(f"{args.readme} does not show {args.leaderboard}; run scripts/readme_results.py")
            return 1
        return 0
    args.readme.write_text(updated, encoding="utf-8")
    print(f"wrote the results table of {args.readme} from {args.leaderboard}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
