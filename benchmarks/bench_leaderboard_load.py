"""How long the leaderboard takes on a large results folder: reading, building and every renderer.

Writes N valid score files (through results.write_score_file, so each passes the schema) for a grid
of models × tasks × repeated runs, then times, in one process and one run:
  - json.loads of every file (the floor: what reading costs without validation),
  - read_score_file of every file (JSON + schema validation),
  - build_leaderboard (read + pick newest + columns),
  - render_markdown, render_csv, render_json, render_html.

    .venv/bin/python benchmarks/bench_leaderboard_load.py [--files 2000] [--problems 30] [--keep DIR]
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from harness.reporting.leaderboard import build_leaderboard  # noqa: E402
from harness.reporting.leaderboard_export import render_csv, render_json, render_markdown  # noqa: E402
from harness.reporting.leaderboard_html import render_html  # noqa: E402
from harness.results import (  # noqa: E402
    SampleRow,
    ScoreFile,
    provenance_now,
    read_score_file,
    score_file_name,
    write_score_file,
)
from harness.scoring.metrics import compute_metrics, metrics_to_dict  # noqa: E402
from harness.types import Score, Verdict  # noqa: E402

MODEL = {"backend": "hf", "path": "/m", "revision": "r1", "dtype": "bfloat16", "device": "cuda",
         "engine": "transformers 5", "batch_size": 8, "chat_template_hash": None, "extra": {}}  # fmt: skip


def protocol(task: str, problems: int) -> dict:
    return {
        "hash": f"{abs(hash(task)) % 16**16:016x}",
        "task": {"name": task, "version": "1"},
        "data": {"content_hash": task, "problem_count": problems, "options": {}},
        "prompt": {"template": "{problem}", "system_prompt": None},
        "sampling": {"temperature": 0.6, "top_p": 0.95, "n": 4, "max_new_tokens": 32768},
        "grader": {"name": "math", "version": "1", "settings": {}},
    }


def write_one(folder: Path, model: str, task: str, run: int, problems: int, rng: random.Random) -> None:
    skill = rng.random()
    ids = [f"{task}-{i}" for i in range(problems)]
    rows = [
        SampleRow(pid, s, "x", None, "1", "correct" if ok else "wrong", ok, rng.randint(100, 9000), "stop",
                  None, 1.0)
        for pid in ids for s in range(4) for ok in [rng.random() < skill]
    ]  # fmt: skip
    scores = [Score(r.problem_id, r.sample_index, Verdict(r.verdict), r.extracted) for r in rows]
    metrics = compute_metrics(scores, ids, n=4, bootstrap_resamples=200)
    run_id = f"run{run}"
    name = score_file_name(model, task, run_id)
    record = ScoreFile(
        run_id=run_id, created_at=f"2025-01-{run + 1:02d}T00:00:00Z", task={"name": task, "version": "1"},
        model={"name": model, **MODEL}, protocol=protocol(task, problems), metrics=metrics_to_dict(metrics),
        counts=dict(metrics.verdict_counts), provenance=provenance_now(None),
        cost={"wall_seconds": 100.0, "generated_tokens": sum(r.output_tokens for r in rows),
              "tokens_per_second": 50.0, "generation_seconds": 90.0},
        samples_file=name.removesuffix(".json") + ".samples.jsonl",
    )  # fmt: skip
    write_score_file(folder / model / name, record, rows)


def generate(folder: Path, files: int, problems: int) -> None:
    rng = random.Random(0)
    tasks = [f"task{t:02d}" for t in range(20)]
    runs = 2
    models = [f"model-{m:03d}" for m in range(max(1, files // (len(tasks) * runs)))]
    for model in models:
        for task in tasks:
            for run in range(runs):
                write_one(folder, model, task, run, problems, rng)


def timed(label: str, fn: Callable[[], T], results: dict[str, float]) -> T:
    started = time.perf_counter()
    value = fn()
    results[label] = time.perf_counter() - started
    return value


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--problems", type=int, default=30)
    parser.add_argument("--keep", type=Path, help="write the score files here and keep them")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        started = time.perf_counter()
        generate(folder, args.files, args.problems)
        paths = sorted(folder.rglob("*.json"))
        print(f"wrote {len(paths)} score files in {time.perf_counter() - started:.1f} s under {folder}")
        t: dict[str, float] = {}
        timed("json.loads only", lambda: [json.loads(p.read_text()) for p in paths], t)
        timed("read_score_file (validated)", lambda: [read_score_file(p) for p in paths], t)
        board = timed("build_leaderboard", lambda: build_leaderboard(folder), t)
        sizes = {}
        for name, render in [("markdown", render_markdown), ("csv", render_csv), ("json", render_json),
                             ("html", render_html)]:  # fmt: skip
            text = timed(f"render {name}", functools.partial(render, board), t)
            sizes[f"render {name}"] = len(text.encode())
    print(f"board: {len(board.rows)} rows × {len(board.columns)} columns, {len(board.cells)} cells")
    for label, seconds in t.items():
        size = f"  ({sizes[label] / 1e6:.1f} MB)" if label in sizes else ""
        print(f"{label:30s} {seconds:7.2f} s{size}")
    total = t["build_leaderboard"] + sum(v for k, v in t.items() if k.startswith("render"))
    print(f"{'build + all renderers':30s} {total:7.2f} s")
    print(f"validation overhead: read_score_file / json.loads = "
          f"{t['read_score_file (validated)'] / t['json.loads only']:.1f}x")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
