# One-command entry points. `make serve` sets up and opens the course; `make test` sets up and runs every test.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_WORKERS ?= 2

.PHONY: setup serve test browser-deps lint latency clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

serve: setup
	$(BIN)/arena serve

# Debian's chromium drives the browser test (Playwright cannot download its own browser here).
browser-deps:
	@if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's chromium for the browser test…"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
		|| echo "Could not install chromium; the browser test will be skipped (it fails under CI=true)."; \
	fi

# Lint first: a ruff error fails the test command (and CI, which runs `make test`).
test: setup browser-deps
	$(BIN)/ruff check src tests course benchmarks
	ARENA_OFFLINE=1 HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --durations=25

lint: setup
	$(BIN)/ruff check src tests course benchmarks

# How fast the learner's loop feels (CLI commands against `import torch`); see benchmarks/latency.py.
latency: setup
	$(BIN)/python benchmarks/latency.py

clean:
	rm -rf $(VENV) .pytest_cache workspace
