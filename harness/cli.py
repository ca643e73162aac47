"""Command line: argument parsing and printing only. The work happens in pipeline, leaderboard and report."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from harness import __version__

EXIT_FAILED = 1  # the run or command failed (model, data, engine)
EXIT_USAGE = 2  # the input was wrong (config, arguments); nothing was written


def whole_number(lowest: int) -> Callable[[str], int]:
    """An argparse type: an integer ≥ `lowest`, so a bad value is a usage message, not a traceback."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = lowest - 1
        if value < lowest:
            raise argparse.ArgumentTypeError(f"expected a whole number ≥ {lowest}, got {text!r}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="harness", description="Evaluate locally hosted open models on math and code tasks."
    )
    parser.add_argument("--version", action="version", version=f"harness {__version__}")
    # Not `required`: a bare `harness` prints the help with the list of commands instead of a usage error.
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser("run", help="evaluate a model on the tasks of a config file")
    _config_arguments(run, "evaluate")
    run.add_argument(
        "--shard", help="evaluate only shard i of N (i/N, 0-based); combine with `harness merge`"
    )
    run.add_argument("--no-progress", action="store_true", help="hide progress bars")

    tasks = commands.add_parser("tasks", help="list every discovered task")
    tasks.add_argument("--path", type=Path, action="append", default=[], help="extra folder of task files")

    board = commands.add_parser("leaderboard", help="build the leaderboard from a folder of score files")
    board.add_argument("results_dir", type=Path, nargs="?", default=Path("results"))
    board.add_argument("--out", type=Path, help="folder or .md file to write (default: RESULTS_DIR)")
    board.add_argument(
        "--format",
        default="md,csv,html,json",
        help="comma-separated formats to write: md, csv, html, json (default: all four)",
    )
    board.add_argument(
        "--reference",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="YAML of reported figures to show apart, marked 'reported, not measured' (repeatable; "
        "default: RESULTS_DIR/reference_rows.yaml when it exists)",
    )
    board.add_argument(
        "--no-reference", action="store_true", help="do not read RESULTS_DIR/reference_rows.yaml"
    )

    show = commands.add_parser("show", help="summarise one score file")
    show.add_argument("score_file", type=Path)
    show.add_argument(
        "--plot",
        nargs="?",
        const=True,
        default=None,
        metavar="PATH",
        help="also write a PNG figure (default path: beside the score file, .png); needs matplotlib",
    )
    show.add_argument(
        "--data",
        type=Path,
        help="with --plot: the task's data file the run used, for the problems' metadata (year, "
        "difficulty); default: the task's own source",
    )

    compare = commands.add_parser(
        "compare", help="paired comparison of two score files of the same task and protocol"
    )
    compare.add_argument("score_a", type=Path)
    compare.add_argument("score_b", type=Path)
    compare.add_argument(
        "--force", action="store_true", help="compare even when the protocols differ (output is marked)"
    )
    compare.add_argument(
        "--seed",
        type=whole_number(0),
        default=0,
        help="seed of Monte Carlo permutation draws (past the exact limit)",
    )
    compare.add_argument(
        "--resamples",
        type=whole_number(1),
        default=10000,
        help="Monte Carlo permutation draws (past the exact limit)",
    )

    from harness.reporting.reproduce_cli import add_reproduce_command  # argparse only; no engine

    add_reproduce_command(commands)

    merge = commands.add_parser("merge", help="combine the shards of a sharded run into its score files")
    _config_arguments(merge, "merge")
    merge.add_argument("--no-progress", action="store_true", help="hide progress bars")
    return parser


def _config_arguments(parser: argparse.ArgumentParser, verb: str) -> None:
    """The config and its overrides, shared by `run` and `merge` (a merge must name the run exactly as the
    shards did, so it takes the same ones)."""
    parser.add_argument("config", type=Path, help="eval config (YAML)")
    parser.add_argument(
        "--limit", type=whole_number(1), help=f"{verb} only the first N problems of each task"
    )
    parser.add_argument("--output", type=Path, help="folder for score files (overrides the config's output)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY.PATH=VALUE",
        help="override a config value, e.g. --set generation.n=4 --set tasks.0.limit=5",
    )
    parser.add_argument(
        "--price-per-device-hour",
        type=float,
        metavar="PRICE",
        help="price of one device-hour (GPU, or the CPU machine) for the score file's money figures; "
        "the same as --set cost.price_per_device_hour=PRICE",
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    from harness.errors import RUN_ERRORS, USAGE_ERRORS  # light: no engine is imported

    try:
        if args.command == "run":
            return _run(args, argv)
        if args.command == "tasks":
            return _tasks(args)
        if args.command == "leaderboard":
            return _leaderboard(args)
        if args.command == "show":
            return _show(args)
        if args.command == "merge":
            return _merge(args)
        if args.command == "compare":
            return _compare(args)
        if args.command == "reproduce":
            from harness.reporting.reproduce_cli import run_reproduce

            return run_reproduce(args, argv)
    except USAGE_ERRORS as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except RUN_ERRORS as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as err:  # a full disk, a read-only folder, ...: one line with the path and the fix
        from harness.output_folder import describe_os_error

        print(f"error: {describe_os_error(err)}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt as err:  # the pipeline's RunInterrupted says how many samples were saved
        detail = str(err) or "samples already generated are kept in the journal: rerun to resume"
        print(f"interrupted: {detail}", file=sys.stderr)
        return 130
    return EXIT_USAGE


def _run(args: argparse.Namespace, argv: Sequence[str] | None) -> int:
    from harness.config import ConfigError, load_config
    from harness.pipeline import run
    from harness.reporting.report import format_run_summary
    from harness.sharding import parse_shard

    config = load_config(args.config, _overrides(args), args.limit, args.output)
    try:
        shard = parse_shard(args.shard) if args.shard else None
    except ValueError as err:
        raise ConfigError(str(err)) from None
    command = "harness " + shlex.join(list(argv if argv is not None else sys.argv[1:]))
    outcomes = run(config, shard=shard, command=command, progress=not args.no_progress)
    print(format_run_summary(outcomes, config.output, shard))
    return 0


def _overrides(args: argparse.Namespace) -> list[str]:
    price = args.price_per_device_hour
    return [*args.overrides, *([f"cost.price_per_device_hour={price!r}"] if price is not None else [])]


def _merge(args: argparse.Namespace) -> int:
    from harness.config import load_config
    from harness.merge import merge_shards
    from harness.reporting.report import format_run_summary

    config = load_config(args.config, _overrides(args), args.limit, args.output)
    command = "harness " + shlex.join(sys.argv[1:])
    outcomes = merge_shards(config, command=command, progress=not args.no_progress)
    print(format_run_summary(outcomes, config.output, None))
    return 0


def _tasks(args: argparse.Namespace) -> int:
    from harness.registry import discover
    from harness.reporting.report import format_task_list

    registry = discover(args.path)
    print(format_task_list(registry))
    return 0


def _leaderboard(args: argparse.Namespace) -> int:
    from harness.errors import UsageError
    from harness.reporting.leaderboard import build_leaderboard
    from harness.reporting.leaderboard_export import FORMATS, render_markdown, write_leaderboard
    from harness.reporting.reference_rows import DEFAULT_FILE_NAME, load_reference_rows

    if not args.results_dir.is_dir():
        raise UsageError(f"results folder {args.results_dir} does not exist")
    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise UsageError(f"--format {args.format!r}: choose one or more of {','.join(FORMATS)}")
    reference_files = list(args.reference)
    default_file = args.results_dir / DEFAULT_FILE_NAME
    if not reference_files and not args.no_reference and default_file.is_file():
        reference_files.append(default_file)
    for path in reference_files:
        if not path.is_file():
            raise UsageError(f"reference rows file {path} does not exist")
    references = [row for path in reference_files for row in load_reference_rows(path)]
    board = build_leaderboard(args.results_dir, references)
    written = write_leaderboard(board, args.out or args.results_dir, formats)
    print(render_markdown(board))
    for path in written:
        print(f"wrote {path}")
    for path, reason in board.skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    return 0


def _show(args: argparse.Namespace) -> int:
    from harness.reporting.report import format_score_file
    from harness.results import ScoreFileError, check_score_file, read_samples, read_score_file

    # Read without the consistency check, so that a file whose numbers do not add up is still shown,
    # with every discrepancy marked (and exit status 1); the check here recomputes everything.
    record = read_score_file(args.score_file, verify=False)
    findings = check_score_file(args.score_file, record, thorough=True)
    try:
        rows = read_samples(args.score_file, record)
    except ScoreFileError:
        rows = None
    print(format_score_file(args.score_file, record, rows, findings))
    if findings:
        return EXIT_FAILED
    if args.plot is not None:
        from harness.reporting.plots import write_score_figure
        from harness.reporting.problem_meta import load_problem_meta

        meta = load_problem_meta(record, args.data)
        if meta.reason:
            print(f"problems not grouped by the task's metadata: {meta.reason}")
        target = args.score_file.with_suffix(".png") if args.plot is True else Path(args.plot)
        print(f"wrote {write_score_figure(args.score_file, record, target, meta.by_problem)}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from harness.reporting.compare import compare_scores
    from harness.reporting.report import format_comparison
    from harness.results import read_score_file

    a, b = read_score_file(args.score_a), read_score_file(args.score_b)
    result = compare_scores(a, b, force=args.force, seed=args.seed, resamples=args.resamples)
    print(format_comparison(result, args.score_a, args.score_b))
    return 0


if __name__ == "__main__":
    sys.exit(main())
