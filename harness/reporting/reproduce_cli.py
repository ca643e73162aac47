"""`harness reproduce ID --model ...`: run a reference row's protocol and set the result beside the figure.

    harness reproduce r1-distill-qwen-7b-aime24-pass1 --model deepseek-ai/DeepSeek-R1-Distill-Qwen-7B \
        --backend vllm                       # runs the stated protocol, then compares
    harness reproduce ID --model M --config-only > config.yaml   # only the config (run it anywhere)
    harness reproduce ID --score-file results/...json            # compare a finished run

The generated config goes through the same loading and validation as any config (`--set` and `--limit`
apply on top; the comparison then names every departure from the stated protocol).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

DEFAULT_REFERENCES = Path("results/reference_rows.yaml")


def add_reproduce_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "reproduce", help="rerun the protocol of a reported figure and compare (see reference_rows.yaml)"
    )
    parser.add_argument("reference_id", help="id of a row of the reference rows file")
    parser.add_argument("--model", help="the model to run: hub id, folder, .gguf, alias or (replay) JSONL")
    parser.add_argument("--backend", default="hf", help="hf, llamacpp, openai, vllm or replay (default hf)")
    parser.add_argument("--name", help="model label in score files (default: the last part of --model)")
    parser.add_argument("--output", type=Path, default=Path("results"), help="folder for score files")
    parser.add_argument(
        "--reference", type=Path, default=DEFAULT_REFERENCES, metavar="FILE",
        help=f"reference rows file (default {DEFAULT_REFERENCES})",
    )  # fmt: skip
    parser.add_argument("--config-only", action="store_true", help="print the config as YAML and stop")
    parser.add_argument("--score-file", type=Path, help="compare this finished run instead of running")
    parser.add_argument("--limit", type=int, help="only the first N problems (a departure, reported)")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
        help="override a config value, e.g. --set tasks.0.data=../shared/data/aime24.jsonl",
    )  # fmt: skip
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")


def run_reproduce(args: argparse.Namespace, argv: Sequence[str] | None) -> int:
    import yaml

    from harness.errors import UsageError
    from harness.reporting.reference_rows import load_reference_rows
    from harness.reporting.reproduce import (
        compare_to_reference,
        config_comment,
        format_reproduction,
        reproduction_config,
    )
    from harness.results import read_score_file

    if not args.reference.is_file():
        raise UsageError(f"reference rows file {args.reference} does not exist (--reference FILE)")
    rows = {row.id: row for row in load_reference_rows(args.reference)}
    row = rows.get(args.reference_id)
    if row is None:
        raise UsageError(
            f"{args.reference}: no reference with id {args.reference_id!r}; ids: {', '.join(sorted(rows))}"
        )
    if args.score_file is not None:
        score_path = args.score_file
    else:
        if not args.model:
            raise UsageError("--model is required unless --score-file names a finished run")
        config = reproduction_config(row, args.model, args.backend, args.name, args.output)
        text = config_comment(row) + yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
        if args.config_only:
            print(text, end="")
            return 0
        score_path = _run(text, args, argv, row.task)
    print(format_reproduction(compare_to_reference(row, score_path, read_score_file(score_path)), score_path))
    return 0


def _run(config_text: str, args: argparse.Namespace, argv: Sequence[str] | None, task: str | None) -> Path:
    """Run the generated config as `harness run` would; the score file of the reference's task."""
    from harness.config import load_config
    from harness.errors import UsageError
    from harness.pipeline import run
    from harness.reporting.report import format_run_summary

    with tempfile.TemporaryDirectory(prefix="harness-reproduce-") as folder:
        path = Path(folder) / "reproduce.yaml"
        path.write_text(config_text, encoding="utf-8")
        config = load_config(path, args.overrides, args.limit, args.output)
    command = "harness " + shlex.join(list(argv if argv is not None else sys.argv[1:]))
    outcomes = run(config, command=command, progress=not args.no_progress)
    print(format_run_summary(outcomes, config.output, None))
    for outcome in outcomes:
        if outcome.task == task and outcome.score_file is not None:
            print()
            return outcome.score_file
    raise UsageError(f"the run wrote no score file for task {task}")
