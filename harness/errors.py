"""Which exceptions the command line turns into a one-line message, and with which exit status."""

from __future__ import annotations


class UsageError(ValueError):
    """A wrong argument or a missing input file named on the command line."""


def _usage_errors() -> tuple[type[BaseException], ...]:
    from harness.backends.base import BackendSettingError
    from harness.config import ConfigError
    from harness.reporting.compare import ComparisonError
    from harness.reporting.reference_rows import ReferenceRowsError
    from harness.reporting.reproduce import ReproduceError

    # Checked before RUN_ERRORS, so BackendSettingError (a BackendError) exits 2, not 1.
    return (BackendSettingError, ComparisonError, ConfigError, ReferenceRowsError, ReproduceError, UsageError)


def _run_errors() -> tuple[type[BaseException], ...]:
    from harness.backends.base import BackendError
    from harness.data import DataError
    from harness.journal import JournalError
    from harness.pipeline import RunError
    from harness.reporting.plots import PlotError
    from harness.results import ScoreFileError
    from harness.scoring.metrics import MetricsError

    return (BackendError, DataError, JournalError, MetricsError, PlotError, RunError, ScoreFileError)


USAGE_ERRORS = _usage_errors()
RUN_ERRORS = _run_errors()
