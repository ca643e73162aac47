"""Who produced a score file: harness version and commit, Python, platform, library versions, command."""

from __future__ import annotations

import platform
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from harness import __version__

# Recorded in provenance when installed; looked up by distribution name, never imported.
PROVENANCE_LIBRARIES = (
    "torch",
    "transformers",
    "tokenizers",
    "accelerate",
    "datasets",
    "math-verify",
    "numpy",
    "jsonschema",
    "gguf",
    "llama-cpp-python",
    "vllm",
    "openai",
)


def _git_commit(folder: Path) -> str | None:
    """HEAD of the repository holding the harness source, or None outside a checkout."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    # An installed copy inside some unrelated repository (a venv in a checkout) must not report
    # that repository's commit, so the package file itself has to be tracked.
    if git("ls-files", "--error-unmatch", "__init__.py") is None:
        return None
    commit = git("rev-parse", "HEAD")
    return commit if commit and re.fullmatch(r"[0-9a-f]{40,64}", commit) else None


def provenance_now(command: str | None) -> dict[str, Any]:
    """Who produced a score file: harness version and commit, Python, platform, library versions."""
    libraries = {}
    for name in PROVENANCE_LIBRARIES:
        try:
            libraries[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return {
        "harness_version": __version__,
        "git_commit": _git_commit(Path(__file__).resolve().parent),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "libraries": libraries,
        "command": command,
    }
