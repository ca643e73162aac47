"""Embedded-model load time with a cold GGUF cache (dequantize + write) against a warm one (read).

Each load runs in a fresh process so both pay the same imports; only HARNESS_CACHE_DIR differs in
state. The cold run uses an empty temporary cache, which is then reused by the warm runs.

    .venv/bin/python benchmarks/bench_gguf_cache.py [--model smollm2-135m-instruct] [--warm-runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Runs in the child: import harness first, then time the backend construction (resolve, cache, load)
# twice. The first one also pays transformers' lazy imports, which happen on first use whatever the
# cache holds; the second shows the cache-dependent part alone.
CHILD = """
import json, sys, time
from harness.backends.hf import HFBackend
from harness.types import ModelSpec
times = []
for _ in range(2):
    started = time.perf_counter()
    HFBackend(ModelSpec("bench", "hf", sys.argv[1], device="cpu")).close()
    times.append(time.perf_counter() - started)
print(json.dumps(times))
"""


def load_twice(model: str, cache_dir: Path) -> tuple[float, float]:
    env = {**os.environ, "HARNESS_CACHE_DIR": str(cache_dir)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, model], cwd=REPO, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        sys.exit(f"loading {model} failed:\n{done.stderr[-3000:]}")
    first, second = json.loads(done.stdout.strip().splitlines()[-1])
    return float(first), float(second)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--model", default="smollm2-135m-instruct", help="alias or .gguf file")
    parser.add_argument("--warm-runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="harness-cache-bench-") as scratch:
        cache = Path(scratch)
        cold, _ = load_twice(args.model, cache)
        warm = [load_twice(args.model, cache) for _ in range(args.warm_runs)]
        size = sum(p.stat().st_size for p in cache.rglob("*") if p.is_file())
    first = min(w[0] for w in warm)
    again = min(w[1] for w in warm)
    print(f"model {args.model}; cache size {size / 2**20:.0f} MiB; best of {len(warm)} warm processes")
    print(f"cold cache, fresh process (imports + dequantize + write + load): {cold:6.2f} s")
    print(f"warm cache, fresh process (imports + hash GGUF + load)         : {first:6.2f} s")
    print(f"warm cache, imports done  (hash GGUF + load)                   : {again:6.2f} s")
    print(
        f"speed-up cold/warm, fresh process: {cold / first:.1f}x; cold/warm load alone: {cold / again:.1f}x"
    )


if __name__ == "__main__":
    main()
