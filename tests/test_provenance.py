"""Provenance: what produced a score file, read from the installation, never guessed."""

from __future__ import annotations

import platform
import sys

from harness import __version__
from harness.provenance import provenance_now


def test_provenance_names_the_harness_python_and_command() -> None:
    record = provenance_now("harness run x.yaml")
    assert record["harness_version"] == __version__
    assert record["python"] == sys.version.split()[0] and record["platform"] == platform.platform()
    assert record["command"] == "harness run x.yaml"
    assert "torch" not in record["libraries"] or record["libraries"]["torch"].startswith("2.")
    commit = record["git_commit"]
    assert commit is None or (len(commit) == 40 and int(commit, 16) >= 0)
