# titanic_assets: every target creates the virtual environment from the lock file if needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# `make demo` works in an instance and a warehouse of its own (data/demo/), never the ones below,
# unless the shell or the command line sets DAGSTER_HOME / TITANIC_DUCKDB (read here, before the
# defaults fill them in). The demo deletes only what a demo created (see titanic_assets/demo.py);
# DEMO_ARGS=--keep adds to existing data, DEMO_ARGS=--reset deletes it anyway.
DEMO_DIR ?= $(CURDIR)/data/demo
DEMO_DAGSTER_HOME := $(or $(DAGSTER_HOME),$(DEMO_DIR)/dagster_home)
DEMO_DUCKDB := $(or $(TITANIC_DUCKDB),$(DEMO_DIR)/warehouse.duckdb)
DEMO_ARGS ?=

# The Dagster instance and the warehouse; both git-ignored, both overridable from the shell.
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
export TITANIC_DUCKDB ?= $(CURDIR)/data/titanic_warehouse.duckdb
HOST ?= 127.0.0.1
PORT ?= 3000
APP_PORT ?= 7860

.PHONY: install instance test test-fast demo dev app bench lint format clean

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# The project's dagster.yaml (run queue, the duckdb pool, run monitoring) must be in effect
# whatever DAGSTER_HOME is: copy it in when that folder has none of its own.
instance:
	@mkdir -p "$(DAGSTER_HOME)"
	@[ -f "$(DAGSTER_HOME)/dagster.yaml" ] || cp dagster.yaml "$(DAGSTER_HOME)/dagster.yaml"

test: install
	$(BIN)/python -m pytest

# The suite without the tests marked `slow` (full demo, live system, browser, reliability suites,
# benchmark smoke): a few minutes instead of half an hour; `make test` still runs everything.
test-fast: install
	$(BIN)/python -m pytest -m "not slow"

demo: install
	DAGSTER_HOME="$(DEMO_DAGSTER_HOME)" TITANIC_DUCKDB="$(DEMO_DUCKDB)" $(BIN)/python -m titanic_assets.demo $(DEMO_ARGS)

dev: install instance
	$(BIN)/dagster dev -h $(HOST) -p $(PORT) -w workspace.yaml

# The Gradio apps on the same warehouse; runs alone or next to `make dev` (short read-only reads).
# On a clone where only `make demo` has run (no warehouse at the default path, TITANIC_DUCKDB not
# set), it serves the demo's warehouse with the demo's instance (its signing key), and says so.
app: install
	@if [ "$(origin TITANIC_DUCKDB)" = "file" ] && [ ! -e "$(TITANIC_DUCKDB)" ] && [ -e "$(DEMO_DUCKDB)" ]; then \
	  echo "make app: no warehouse at $(TITANIC_DUCKDB) yet: serving the demo's, $(DEMO_DUCKDB)"; \
	  DAGSTER_HOME="$(DEMO_DAGSTER_HOME)" TITANIC_DUCKDB="$(DEMO_DUCKDB)" \
	    $(BIN)/titanic app --host $(HOST) --port $(APP_PORT); \
	else \
	  $(BIN)/titanic app --host $(HOST) --port $(APP_PORT); \
	fi

bench: install
	$(BIN)/python -m benchmarks.run

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .dagster_home data .pytest_cache .ruff_cache
