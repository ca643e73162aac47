"""Build and pip-install a throwaway plugin package (entry points, package data) into a private folder,
for the tests that prove third-party tasks and backends load exactly as published ones would."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

PIP_INSTALL = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation"]


def install_plugin(source: Path, site: Path, name: str, entry_points: str, package_data: str = "") -> Path:
    """`source` holds the package folder(s); returns `site`, the folder to put on PYTHONPATH."""
    (source / "pyproject.toml").write_text(
        textwrap.dedent("""
        [build-system]
        requires = ["setuptools"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "{name}"
        version = "0.1"
        """).format(name=name)
        + textwrap.dedent(entry_points)
        + textwrap.dedent(package_data)
    )
    subprocess.run(
        [*PIP_INSTALL, "--target", str(site), str(source)],
        check=True,
        capture_output=True,
    )
    return site


def plugin_env(site: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
