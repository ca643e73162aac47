"""Does a greedy hf run give the same text whichever way it is cut? Counted on the quickstart tasks.

Every scenario is a real `harness run` (its own process) on the embedded model, greedy, on the
quickstart tasks (sample-math 24 + sample-code 10 problems), into its own fresh folder:

    reference   batch_size 1, unsharded
    batch 2     batch_size 2
    batch auto  batch_size auto
    shards      --shard 0/2, --shard 1/2, then `harness merge` (batch_size auto)
    resume      batch_size 4, SIGINT once the journal holds --interrupt-after samples, then the same
                command again (it resumes from the journal)
    threads     batch_size auto with one torch thread (two when --threads 1 is given)

Each scenario's completions are compared with the reference's, text for text: the script prints how many
differ and how many of those changed the verdict, plus each run's wall time; the batch_size 2, shard,
resume and thread runs are also compared with the batch_size auto run. A last, in-process check
counts how often left padding alone (the same single prompt with k pad tokens in front, masked out)
changes transformers' greedy text, which is the mechanism behind batch dependence.

    .venv/bin/python benchmarks/bench_determinism.py --dtype bfloat16                # this checkout
    .venv/bin/python benchmarks/bench_determinism.py --dtype float32 --deterministic false
    cd ../main && .venv/bin/python ../wt/determinism/benchmarks/bench_determinism.py --repo .   # another
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parents[1]
TASKS = ("sample-math", "sample-code")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--repo", type=Path, default=HERE, help="checkout whose .venv/bin/harness runs")
    parser.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float32"])
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--limit", type=int, default=None, help="problems per task (default: all)")
    parser.add_argument(
        "--deterministic", choices=["default", "true", "false"], default="default",
        help="model.options.deterministic (default: leave the option out, as older checkouts need)",
    )  # fmt: skip
    parser.add_argument("--interrupt-after", type=int, default=9, help="samples journaled before SIGINT")
    parser.add_argument("--skip", default="", help="comma-separated scenarios to leave out")
    parser.add_argument("--threads", type=int, default=None, help="OMP_NUM_THREADS for every run")
    parser.add_argument("--padding", type=int, default=24, help="prompts for the padding check (0: skip)")
    parser.add_argument("--out", type=Path, default=None, help="keep the run folders here")
    return parser.parse_args()


def write_config(folder: Path, args: argparse.Namespace) -> Path:
    model: dict[str, Any] = {
        "name": "smollm2-135m-instruct",
        "backend": "hf",
        "path": "smollm2-135m-instruct",
        "dtype": args.dtype,
        "device": "cpu",
        "batch_size": "auto",
    }
    if args.deterministic != "default":
        model["options"] = {"deterministic": args.deterministic == "true"}
    tasks: list[Any] = [{"name": t, "limit": args.limit} if args.limit else t for t in TASKS]
    config = {
        "model": model,
        "generation": {"temperature": 0.0, "max_new_tokens": args.max_new_tokens, "n": 1, "seed": 1234},
        "tasks": tasks,
        "output": str(folder / "unused"),
    }
    path = folder / "config.json"  # JSON is YAML, so the harness reads it as a config
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return path


class Runner:
    def __init__(self, args: argparse.Namespace, scratch: Path) -> None:
        self.args = args
        self.scratch = scratch
        self.harness = str(args.repo.resolve() / ".venv" / "bin" / "harness")
        self.config = write_config(scratch, args)
        self.walls: dict[str, float] = {}
        self.env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        if args.threads:
            self.env["OMP_NUM_THREADS"] = str(args.threads)

    def command(self, out: Path, batch_size: str, *extra: str) -> list[str]:
        return [
            self.harness, "run", str(self.config), "--output", str(out), "--no-progress",
            "--set", f"model.batch_size={batch_size}", *extra,
        ]  # fmt: skip

    def run(self, name: str, commands: list[list[str]], env: dict[str, str] | None = None) -> Path:
        out = self.scratch / name
        started = time.perf_counter()
        for command in commands:
            command = [str(out) if part == "{out}" else part for part in command]
            done = subprocess.run(
                command, cwd=self.args.repo, capture_output=True, text=True, env=env or self.env
            )
            if done.returncode != 0:
                sys.exit(f"{name}: {' '.join(command)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        self.walls[out.name] = time.perf_counter() - started
        return out

    def run_interrupted(self, name: str, batch_size: str) -> tuple[Path, int]:
        """SIGINT once the first task's journal holds enough samples, then run again to finish."""
        out = self.scratch / name
        command = self.command(out, batch_size)
        started = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=self.args.repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        saved = 0
        while process.poll() is None:
            saved = journaled(out)
            if saved >= self.args.interrupt_after:
                process.send_signal(signal.SIGINT)
                break
            time.sleep(0.05)
        process.communicate()
        saved = journaled(out)
        done = subprocess.run(command, cwd=self.args.repo, capture_output=True, text=True, env=self.env)
        if done.returncode != 0:
            sys.exit(f"{name}: resuming failed ({done.returncode}):\n{done.stderr[-3000:]}")
        self.walls[out.name] = time.perf_counter() - started
        return out, saved


def journaled(out: Path) -> int:
    """Completions in the journals under `out` (each journal's first line is its header)."""
    lines = 0
    for path in (out / ".journal").glob("*.jsonl"):
        lines += max(0, len(path.read_bytes().splitlines()) - 1)
    return lines


def load_completions(out: Path) -> dict[tuple[str, str, int], tuple[str, bool]]:
    """(task, problem, sample) -> (completion text, correct), from the samples files under `out`."""
    found: dict[tuple[str, str, int], tuple[str, bool]] = {}
    for path in sorted(out.glob("*.samples.jsonl")):
        task = path.name.split("__")[1]
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            found[(task, row["problem_id"], row["sample_index"])] = (row["completion"], bool(row["correct"]))
    return found


def compare(reference: dict[Any, tuple[str, bool]], other: dict[Any, tuple[str, bool]]) -> str:
    if set(reference) != set(other):
        return f"sample sets differ ({len(reference)} vs {len(other)})"
    texts = sum(reference[key][0] != other[key][0] for key in reference)
    verdicts = sum(reference[key][1] != other[key][1] for key in reference)
    per_task = ", ".join(
        f"{task} {sum(reference[k][0] != other[k][0] for k in reference if k[0] == task)}"
        f"/{sum(1 for k in reference if k[0] == task)}"
        for task in TASKS
    )
    share = 100 * texts / len(reference)
    return f"{texts}/{len(reference)} texts differ ({share:.1f}%; {per_task}), {verdicts} verdicts flip"


def run_scenarios(runner: Runner, skip: set[str]) -> list[tuple[str, Path, float]]:
    """(label, output folder, wall seconds) per scenario; the reference first."""
    cmd, out = runner.command, Path("{out}")
    done = [("reference", runner.run("reference", [cmd(out, "1")]))]
    if "batch2" not in skip:
        done.append(("batch_size 2", runner.run("batch2", [cmd(out, "2")])))
    if "auto" not in skip:
        done.append(("batch_size auto", runner.run("auto", [cmd(out, "auto")])))
    if "shards" not in skip:
        merge = [runner.harness, "merge", str(runner.config), "--output", "{out}", "--no-progress"]
        shards = [cmd(out, "auto", "--shard", f"{i}/2") for i in range(2)]
        done.append(("shard 0/2 + 1/2 + merge", runner.run("shards", [*shards, merge])))
    if "resume" not in skip:
        folder, saved = runner.run_interrupted("resume", "4")
        done.append((f"resume, SIGINT at {saved} saved", folder))
    if "threads" not in skip:
        threads = 2 if runner.env.get("OMP_NUM_THREADS") == "1" else 1
        env = {**runner.env, "OMP_NUM_THREADS": str(threads)}
        done.append((f"batch_size auto, {threads} thread(s)", runner.run("threads", [cmd(out, "auto")], env)))
    return [(label, folder, runner.walls[folder.name]) for label, folder in done]


def padding_check(args: argparse.Namespace, count: int) -> None:
    """transformers' greedy text of one prompt alone vs the same prompt with k masked pad tokens in front."""
    code = PADDING_CHECK.format(dtype=args.dtype, count=count, new=args.max_new_tokens)
    python = str(args.repo.resolve() / ".venv" / "bin" / "python")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
    done = subprocess.run([python, "-c", code], cwd=args.repo, capture_output=True, text=True, env=env)
    print(done.stdout.strip() or f"padding check failed:\n{done.stderr[-2000:]}")


PADDING_CHECK = """
import torch
from harness.backends.hf import HFBackend
from harness.registry import discover
from harness.types import ChatMessage, ModelSpec
backend = HFBackend(ModelSpec("m", "hf", "smollm2-135m-instruct", dtype="{dtype}", device="cpu"))
registry = discover(())
prompts = []
for name in ("sample-math", "sample-code"):
    spec = registry.get(name)
    from harness.data import load_problems
    for problem in load_problems(spec, None, None, dict(spec.options)).problems:
        prompts.append(spec.prompt_template.replace("{{problem}}", problem.prompt))
prompts = prompts[:{count}]
model, pad = backend.model, backend.pad_id
model.set_attn_implementation("sdpa")
changed = {{k: 0 for k in (1, 7, 64)}}
with torch.inference_mode():
    for prompt in prompts:
        ids = torch.tensor([backend.render([ChatMessage("user", prompt)])])
        def run(k):
            padded = torch.cat([torch.full((1, k), pad), ids], 1)
            mask = torch.cat([torch.zeros((1, k), dtype=torch.long), torch.ones_like(ids)], 1)
            out = model.generate(input_ids=padded, attention_mask=mask, max_new_tokens={new},
                                 do_sample=False, pad_token_id=pad)
            return out[0, padded.shape[1]:].tolist()
        alone = run(0)
        for k in changed:
            changed[k] += run(k) != alone
print("padding (transformers generate, one row, k masked pad tokens in front): "
      + ", ".join(f"k={{k}}: {{n}}/{{len(prompts)}} texts differ" for k, n in changed.items()))
"""


def main() -> None:
    args = parse_args()
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    with tempfile.TemporaryDirectory(prefix="bench-determinism-") as temporary:
        scratch = args.out or Path(temporary)
        scratch.mkdir(parents=True, exist_ok=True)
        runner = Runner(args, scratch)
        outputs = run_scenarios(runner, skip)
        reference = load_completions(outputs[0][1])
        print(
            f"{args.repo.resolve().name}: hf {args.dtype}, greedy, max_new_tokens {args.max_new_tokens}, "
            f"options.deterministic={args.deterministic}, threads {args.threads or 'default'}, "
            f"{len(reference)} samples, "
            f"load average {os.getloadavg()[0]:.1f}"
        )
        auto = next((out for label, out, _ in outputs if label == "batch_size auto"), None)
        for label, out, wall in outputs:
            verdict = "(reference)" if out == outputs[0][1] else compare(reference, load_completions(out))
            print(f"  {label:32s} {wall:7.1f} s  {verdict}")
            if auto is not None and out not in (outputs[0][1], auto):
                # Shards, resume and threads also against the unsharded run of the same batch size.
                against_auto = compare(load_completions(auto), load_completions(out))
                print(f"  {'':32s} {'':9s}  vs batch_size auto: {against_auto}")
        model_block = json.loads(next(outputs[0][1].glob("*.json")).read_text())["model"]
        print(f"  model block extra: {json.dumps(model_block.get('extra', {}), sort_keys=True)}")
    if args.padding:
        padding_check(args, args.padding)


if __name__ == "__main__":
    main()
