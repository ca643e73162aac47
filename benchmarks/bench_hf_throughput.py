"""Greedy tokens/s of the harness hf backend against a plain transformers generate() loop, side by side.

All sides use the same weights, the same chat-rendered AIME prompts sorted by length, the same batch
size and max_new_tokens. The plain loop is what a person would write by hand (left-padded batches
through generate()); the ratio shows what the backend costs. Target: ratio >= 0.9. The backend runs
in its default deterministic mode (per-row attention) and with `deterministic: false` (one padded
attention call per step); `--one-row` adds deterministic decoding with batch size 1, i.e. one row per
forward pass, the simplest way to make outputs batch-independent.

    .venv/bin/python benchmarks/bench_hf_throughput.py                       # backend vs plain loop
    .venv/bin/python benchmarks/bench_hf_throughput.py --dtype bfloat16 --batch-size 16 --one-row
    .venv/bin/python benchmarks/bench_hf_throughput.py --mode cli            # `harness run` end to end
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "aime24.jsonl"
SUFFIX = "\nPlease reason step by step, and put your final answer within \\boxed{}."


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--model", default="smollm2-135m-instruct", help="alias, .gguf, folder or hub id")
    parser.add_argument("--prompts", type=int, default=32, help="number of AIME problems (max 30 per file)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16", "float16"])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeats", type=int, default=1, help="alternating rounds of each side")
    parser.add_argument("--mode", choices=["backend", "cli", "plain"], default="backend")
    parser.add_argument("--one-row", action="store_true", help="also time one row per forward pass")
    parser.add_argument("--data", type=Path, default=DATA)
    return parser.parse_args()


def load_problems(path: Path, count: int) -> list[str]:
    if not path.is_file():
        sys.exit(f"benchmark data {path} is missing; pass --data with an AIME-style JSONL file")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    # 30 problems per year: repeat from the start when more prompts are asked for.
    return [rows[i % len(rows)]["problem"] + SUFFIX for i in range(count)]


def plain_loop(model: Any, tokenizer: Any, prompts: list[str], batch_size: int, max_new: int) -> int:
    """The hand-written reference: render, sort by length, left-pad, generate, count new tokens."""
    import torch

    texts = [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": p}], add_generation_prompt=True, tokenize=False
        )
        for p in prompts
    ]
    texts.sort(key=lambda t: len(tokenizer(t, add_special_tokens=False)["input_ids"]), reverse=True)
    eos = model.generation_config.eos_token_id
    eos_ids = set(eos if isinstance(eos, list) else [eos])
    total = 0
    for start in range(0, len(texts), batch_size):
        batch = tokenizer(
            texts[start : start + batch_size],
            return_tensors="pt",
            padding=True,
            padding_side="left",
            add_special_tokens=False,
        ).to(model.device)
        with torch.inference_mode():
            out = model.generate(
                **batch, do_sample=False, max_new_tokens=max_new, pad_token_id=tokenizer.pad_token_id
            )
        for row in out[:, batch["input_ids"].shape[1] :].tolist():
            ends = [i + 1 for i, token in enumerate(row) if token in eos_ids]
            total += ends[0] if ends else len(row)
    return total


@dataclass(frozen=True)
class Side:
    tokens: int
    seconds: float  # best of the repeats

    @property
    def rate(self) -> float:
        return self.tokens / self.seconds


def compare_with_plain_loop(
    backend: Any, prompts: list[str], batch_size: int, max_new_tokens: int, repeats: int
) -> tuple[Side, Side]:
    """(plain loop, harness backend) on the backend's own loaded model, alternating `repeats` rounds."""
    backend.batch_size = batch_size
    plain, sides = compare_sides({"harness": backend}, prompts, batch_size, max_new_tokens, repeats)
    return plain, sides["harness"]


def compare_sides(
    backends: dict[str, Any], prompts: list[str], batch_size: int, max_new_tokens: int, repeats: int
) -> tuple[Side, dict[str, Side]]:
    """The plain loop (on the first backend's model, at `batch_size`) and each backend at its own batch
    size, alternating `repeats` rounds."""
    from harness.types import ChatMessage, Request, Sampling

    sampling = Sampling(temperature=0.0, max_new_tokens=max_new_tokens)
    requests = [
        Request("aime24", f"p{i}", 0, (ChatMessage("user", p),), sampling, seed=i)
        for i, p in enumerate(prompts)
    ]
    for backend in backends.values():
        list(backend.generate(requests[:2]))  # warm-up: no side pays for first-call allocations
    reference = next(iter(backends.values()))
    times: dict[str, list[float]] = {"plain": [], **{name: [] for name in backends}}
    tokens: dict[str, int] = {}
    for _ in range(repeats):
        started = time.perf_counter()
        tokens["plain"] = plain_loop(
            reference.model, reference.tokenizer, prompts, batch_size, max_new_tokens
        )
        times["plain"].append(time.perf_counter() - started)
        for name, backend in backends.items():
            started = time.perf_counter()
            tokens[name] = sum(c.output_tokens for c in backend.generate(requests))
            times[name].append(time.perf_counter() - started)
    sides = {name: Side(tokens[name], min(times[name])) for name in times}
    plain = sides.pop("plain")
    return plain, sides


def print_comparison(
    plain: Side,
    harness: Side,
    target: float,
    labels: tuple[str, str] = ("plain transformers loop", "harness hf backend"),
) -> None:
    width = max(len(label) for label in (*labels, "ratio harness/plain"))
    for label, side in zip(labels, (plain, harness), strict=True):
        print(f"{label:<{width}}: {side.tokens} tokens in {side.seconds:.2f} s = {side.rate:.1f} tok/s")
    print(f"{'ratio harness/plain':<{width}}: {harness.rate / plain.rate:.3f}x (target >= {target}x)")


def bench_backend(args: argparse.Namespace) -> None:
    from harness.backends.hf import HFBackend
    from harness.types import ModelSpec

    def backend(batch_size: int, deterministic: bool) -> HFBackend:
        options = {"deterministic": deterministic}
        spec = ModelSpec("bench", "hf", args.model, args.dtype, args.device, batch_size, options=options)
        return HFBackend(spec)

    sides = {  # the first one's model (plain sdpa attention) also runs the plain loop
        "harness, deterministic=false": backend(args.batch_size, False),
        "harness, deterministic": backend(args.batch_size, True),
    }
    if args.one_row:
        sides["harness, one row per pass"] = backend(1, True)
    info = sides["harness, deterministic=false"].info()
    print(f"model {args.model}: dtype {info.dtype}, device {info.device}, {info.engine}")
    for name, loaded in sides.items():
        extra = loaded.info().extra
        rows, mkl = extra["rows_per_step"], extra.get("mkl_cbwr")
        print(f"  {name}: {extra['decoding']}, rows per step {rows}, MKL {mkl}")
    prompts = load_problems(args.data, args.prompts)
    plain, timed = compare_sides(sides, prompts, args.batch_size, args.max_new_tokens, args.repeats)
    print(f"{len(prompts)} prompts, batch {args.batch_size}, max_new_tokens {args.max_new_tokens}, greedy")
    for name, side in timed.items():
        print_comparison(plain, side, target=0.9, labels=("plain transformers loop", name))


def bench_plain_process(args: argparse.Namespace) -> None:
    """One process that loads the model and runs only the plain loop: the reference for --mode cli."""
    from harness.backends.hf import HFBackend
    from harness.types import ModelSpec

    spec = ModelSpec(
        "bench", "hf", args.model, dtype=args.dtype, device=args.device, batch_size=args.batch_size
    )
    backend = HFBackend(spec)
    prompts = load_problems(args.data, args.prompts)
    tokens = plain_loop(backend.model, backend.tokenizer, prompts, args.batch_size, args.max_new_tokens)
    print(f"plain loop generated {tokens} tokens")


def bench_cli(args: argparse.Namespace) -> None:
    """Wall time of `harness run` (load, generate, journal, score, write) against a plain-loop process."""
    import yaml

    count = min(args.prompts, 30)  # the task runs each problem of the file once
    with tempfile.TemporaryDirectory() as scratch:
        config = Path(scratch) / "bench.yaml"
        model = {"name": "bench", "backend": "hf", "path": args.model, "dtype": args.dtype}
        model.update(device=args.device, batch_size=args.batch_size)
        generation = {"temperature": 0.0, "max_new_tokens": args.max_new_tokens, "n": 1, "seed": 1234}
        task = {
            "name": "aime24",
            "data": str(args.data),
            "limit": count,
            "prompt_template": "{problem}" + SUFFIX,
        }
        task["system_prompt"] = None
        plain = [sys.executable, __file__, "--mode", "plain", "--model", args.model, "--prompts", str(count)]
        plain += ["--batch-size", str(args.batch_size), "--max-new-tokens", str(args.max_new_tokens)]
        plain += ["--dtype", args.dtype, "--device", args.device, "--data", str(args.data)]
        walls: dict[str, list[float]] = {"plain": [], "harness": []}
        # Untimed: fills the GGUF cache so neither timed side pays for dequantizing.
        warm_up = [*plain[:-6], "--batch-size", "1", "--max-new-tokens", "1", "--prompts", "1"]
        subprocess.run(warm_up, cwd=REPO, capture_output=True, check=False)
        for round_index in range(args.repeats):
            out = Path(scratch) / f"out{round_index}"  # a fresh folder, so nothing is resumed
            body = {"model": model, "generation": generation, "tasks": [task], "output": str(out)}
            config.write_text(yaml.safe_dump(body), encoding="utf-8")
            cli = [sys.executable, "-m", "harness.cli", "run", str(config), "--no-progress"]
            for label, command in (("plain", plain), ("harness", cli)):
                started = time.perf_counter()
                done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
                walls[label].append(time.perf_counter() - started)
                if done.returncode != 0:
                    sys.exit(f"{label} failed ({done.returncode}):\n{done.stderr[-3000:]}")
                print(f"{label}: {walls[label][-1]:.1f} s; {done.stdout.strip().splitlines()[-1:]}")
    best_plain, best_harness = min(walls["plain"]), min(walls["harness"])
    print(
        f"{count} prompts, batch {args.batch_size}, max_new_tokens {args.max_new_tokens}, greedy, warm cache"
    )
    print(f"plain-loop process : {best_plain:.1f} s wall (load + generate)")
    print(f"harness run        : {best_harness:.1f} s wall (load + generate + journal + score + write)")
    print(f"ratio plain/harness: {best_plain / best_harness:.3f}x (higher is better for the harness)")


def main() -> None:
    args = parse_args()
    if args.mode == "cli":
        bench_cli(args)
    elif args.mode == "plain":
        bench_plain_process(args)
    else:
        bench_backend(args)


if __name__ == "__main__":
    main()
