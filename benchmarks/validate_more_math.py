"""Agreement of the minerva_math and olympiadbench tasks with PRIME's graded outputs, through `harness run`.

PRIME published greedy Qwen2.5-Math-7B-Instruct and Llama-3.1-8B-Instruct outputs on exactly these problems,
each labelled correct or not by the Qwen2.5-Math grader (../shared/data/graded_outputs/prime_*.jsonl). This
script turns them into replay files, runs `harness run` on configs/replay-prime-*.yaml (the replay backend
stands in for the model, so the task's loading, prompt, extraction and grader all run as in a real
evaluation), and compares each sample's verdict with its label:

    .venv/bin/python benchmarks/validate_more_math.py [--data DIR] [--out DIR]

It prints agreement and confusion counts per file, writes every disagreement to
OUT/disagreements.jsonl, and checks that each one is classified in benchmarks/more_math_agreement.md;
from that classification it prints how many rows the harness gets wrong. A measurement, not a test: the
labels come from another harness with its own rules.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from harness.data import load_problems  # noqa: E402
from harness.registry import discover  # noqa: E402
from harness.results import SampleRow, read_samples, read_score_file  # noqa: E402

DEFAULT_DATA = REPO / ".." / "shared" / "data"
DEFAULT_OUT = REPO / "benchmarks" / "out" / "more_math"
CLASSIFICATION = REPO / "benchmarks" / "more_math_agreement.md"


@dataclass(frozen=True)
class GradedFile:
    key: str  # how benchmarks/more_math_agreement.md names the file
    name: str  # file stem in graded_outputs/
    task: str
    config: str  # the replay config that grades it
    replay: str  # the replay file that config reads, inside --out


QWEN_CONFIG, LLAMA_CONFIG = "configs/replay-prime-qwen25math7b.yaml", "configs/replay-prime-llama31-8b.yaml"
QWEN_REPLAY, LLAMA_REPLAY = "prime_qwen25math7b.replay.jsonl", "prime_llama31_8b.replay.jsonl"
FILES = (
    GradedFile("qwen-minerva", "prime_qwen25math7b_minerva_math", "minerva_math", QWEN_CONFIG, QWEN_REPLAY),
    GradedFile("llama-minerva", "prime_llama31_8b_minerva_math", "minerva_math", LLAMA_CONFIG, LLAMA_REPLAY),
    GradedFile(
        "qwen-olympiad", "prime_qwen25math7b_olympiadbench", "olympiadbench", QWEN_CONFIG, QWEN_REPLAY
    ),
)
CONFUSION_ORDER = ((True, True), (True, False), (False, True), (False, False))  # TT TF FT FF
_ROW = re.compile(r"_idx(\d+)$")


@dataclass(frozen=True)
class Agreement:
    graded: GradedFile
    confusion: Counter[tuple[bool, bool]]  # (label_correct, harness_correct) -> rows

    @property
    def rows(self) -> int:
        return sum(self.confusion.values())

    @property
    def rate(self) -> float:
        return (self.confusion[(True, True)] + self.confusion[(False, False)]) / self.rows


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def joined_rows(graded: GradedFile, data: Path) -> list[dict[str, Any]]:
    """The graded rows, each with the row number, id and gold the task gives its problem.

    PRIME's `<dataset>_idx<k>` is the k-th row (0-based) of the problem file; the problem statements must
    match, or the join is wrong and the script stops.
    """
    spec = discover().get(graded.task)
    problems = load_problems(spec, data / "more_math" / f"{graded.task}.jsonl").problems
    rows = read_jsonl(data / "graded_outputs" / f"{graded.name}.jsonl")
    for row in rows:
        match = _ROW.search(row["problem_id"])
        if match is None:
            raise SystemExit(f"{graded.name}: cannot read a row number from {row['problem_id']!r}")
        row["row"] = int(match.group(1))
        problem = problems[row["row"]]
        if problem.prompt.strip() != row["problem"].strip():
            raise SystemExit(f"{graded.name}: {row['problem_id']} is not the problem of row {row['row']}")
        row["task_problem_id"], row["task_gold"] = problem.id, problem.answer
    return rows


def write_replays(joined: dict[GradedFile, list[dict[str, Any]]], out: Path) -> None:
    lines: dict[str, list[str]] = {}
    for graded, rows in joined.items():
        for row in rows:
            # The outputs carry no finish reason or token count; they are finished greedy generations.
            item = {"task": graded.task, "problem_id": row["task_problem_id"], "sample_index": 0,
                    "text": row["model_output"], "finish_reason": "stop"}  # fmt: skip
            lines.setdefault(graded.replay, []).append(json.dumps(item, ensure_ascii=False))
    for name, items in lines.items():
        (out / name).write_text("\n".join(items) + "\n", encoding="utf-8")


def run_harness(config: str, replay: Path, data: Path, results: Path) -> None:
    """`harness run CONFIG`, with the replay file, problem files and output folder of this run."""
    import yaml

    tasks = yaml.safe_load((REPO / config).read_text(encoding="utf-8"))["tasks"]
    overrides = [f"model.path={replay}"]
    overrides += [
        f"tasks.{i}.data={data / 'more_math' / (task['name'] + '.jsonl')}" for i, task in enumerate(tasks)
    ]
    command = [
        str(Path(sys.executable).with_name("harness")),
        "run",
        config,
        "--no-progress",
        "--output",
        str(results),
    ]
    for item in overrides:
        command += ["--set", item]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"`{' '.join(command)}` failed ({done.returncode}):\n{done.stderr[-3000:]}")


def harness_samples(results: Path, graded: GradedFile) -> dict[str, SampleRow]:
    """The per-sample rows the run wrote for `graded` (its task and replay file), by problem id."""
    for path in sorted(results.glob(f"*__{graded.task}__*.json")):
        record = read_score_file(path)
        if str(record.model["path"]).endswith(graded.replay):
            return {sample.problem_id: sample for sample in read_samples(path, record)}
    raise SystemExit(f"no score file for {graded.task} from {graded.replay} in {results}")


def compare(
    graded: GradedFile,
    rows: list[dict[str, Any]],
    samples: dict[str, SampleRow],
    sink: list[dict[str, Any]],
) -> Agreement:
    confusion: Counter[tuple[bool, bool]] = Counter()
    for row in rows:
        sample = samples[row["task_problem_id"]]
        label, ours = bool(row["label_correct"]), sample.correct
        confusion[(label, ours)] += 1
        if label != ours:
            sink.append(
                {
                    "file": graded.key,
                    "row": row["row"],
                    "problem_id": row["task_problem_id"],
                    "gold": row["task_gold"],
                    "prime_gold": row["gold"],
                    "extracted": sample.extracted,
                    "label_correct": label,
                    "verdict": sample.verdict,
                    "qwen_pred": row["harness_pred"],
                    "output_tail": row["model_output"][-600:],
                }
            )
    return Agreement(graded, confusion)


def classified(path: Path) -> dict[tuple[str, int], dict[str, str]]:
    """The disagreement table of the classification file: (file, row) -> its cells."""
    keys = {graded.key for graded in FILES}
    entries: dict[tuple[str, int], dict[str, str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines() if path.is_file() else []:
        cells = [cell.strip().strip("`") for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 8 and cells[0] in keys and cells[1].isdigit():
            entries[(cells[0], int(cells[1]))] = {"label": cells[4], "harness": cells[5], "right": cells[6]}
    return entries


def check_classification(disagreements: list[dict[str, Any]], results: list[Agreement]) -> bool:
    """Print how the classification file accounts for today's disagreements; True if it covers them all."""
    entries = classified(CLASSIFICATION)
    current = {(d["file"], d["row"]): d for d in disagreements}
    missing = sorted(set(current) - set(entries))
    stale = sorted(set(entries) - set(current))
    changed = sorted(k for k in set(current) & set(entries) if entries[k]["harness"] != current[k]["verdict"])
    for what, keys in (("not classified", missing), ("classified but no longer disagreeing", stale),
                       ("classified with another harness verdict", changed)):  # fmt: skip
        if keys:
            print(f"{len(keys)} {what}: " + ", ".join(f"{f} row {r}" for f, r in keys))
    wrong = Counter(key[0] for key, cells in entries.items() if key in current and cells["right"] == "label")
    for result in results:
        n = wrong[result.graded.key]
        print(f"{result.graded.key:14} harness wrong on {n} of {result.rows} rows ({n / result.rows:.2%})")
    return not (missing or stale or changed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where replay files and results go")
    args = parser.parse_args(argv)
    data, out = args.data.resolve(), args.out.resolve()
    if not (data / "graded_outputs").is_dir():
        print(
            f"{data / 'graded_outputs'} does not exist; pass --data with the shared data folder",
            file=sys.stderr,
        )
        return 2
    shutil.rmtree(out, ignore_errors=True)  # a stale journal would replay old verdicts
    out.mkdir(parents=True)
    joined = {graded: joined_rows(graded, data) for graded in FILES}
    write_replays(joined, out)
    start = time.perf_counter()
    for config, replay in {(g.config, g.replay) for g in FILES}:
        run_harness(config, out / replay, data, out / "results")
    seconds = time.perf_counter() - start
    disagreements: list[dict[str, Any]] = []
    results = [compare(g, joined[g], harness_samples(out / "results", g), disagreements) for g in FILES]
    print(f"{'file':14} {'task':14} {'rows':>5} {'agree':>7}  {'TT':>4} {'TF':>4} {'FT':>4} {'FF':>4}")
    print("(TF = labelled correct, the harness says wrong; FT = labelled wrong, the harness says correct)")
    for r in results:
        counts = " ".join(
            f"{r.confusion[key]:4d}" for key in ((True, True), (True, False), (False, True), (False, False))
        )
        print(f"{r.graded.key:14} {r.graded.task:14} {r.rows:5d} {r.rate:7.2%}  {counts}")
    print(f"`harness run` on the two replay configs took {seconds:.1f} s")
    with (out / "disagreements.jsonl").open("w", encoding="utf-8") as handle:
        for item in disagreements:
            handle.write(json.dumps(item, ensure_ascii=False) + "\n")
    print(f"{len(disagreements)} disagreements written to {out / 'disagreements.jsonl'}")
    return 0 if check_classification(disagreements, results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
