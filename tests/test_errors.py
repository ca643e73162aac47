"""Which exceptions become a one-line message on the command line, and with which exit status."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from harness.backends.base import BackendError, BackendSettingError
from harness.errors import RUN_ERRORS, USAGE_ERRORS, UsageError
from harness.pipeline import RunInterrupted

from .conftest import modules_after

HARNESS = [sys.executable, "-m", "harness.cli"]


def test_a_usage_error_is_a_run_error_only_where_the_cli_means_exit_2() -> None:
    # The CLI checks USAGE_ERRORS first; any other overlap would silently change an exit status.
    overlaps = {(u, r) for u in USAGE_ERRORS for r in RUN_ERRORS if issubclass(u, r)}
    assert overlaps == {(BackendSettingError, BackendError)}
    assert not any(issubclass(r, u) for u in USAGE_ERRORS for r in RUN_ERRORS)


def test_an_interrupt_is_neither_so_it_keeps_its_own_exit_status() -> None:
    assert not issubclass(RunInterrupted, (*USAGE_ERRORS, *RUN_ERRORS))
    assert issubclass(RunInterrupted, KeyboardInterrupt)


def test_the_error_tables_load_without_an_engine() -> None:
    assert modules_after("import harness.errors", ("torch", "transformers", "vllm")) == []


def test_a_usage_error_exits_2_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    assert issubclass(UsageError, USAGE_ERRORS)
    result = subprocess.run(
        [*HARNESS, "leaderboard", str(tmp_path / "absent")], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    assert result.stderr == f"error: results folder {tmp_path / 'absent'} does not exist\n"
