# The one task runner: README and .ci/run call these targets verbatim.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench install clean-data openapi

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## Migrate, create the demo organization, serve on http://127.0.0.1:8000
run: $(STAMP)
	$(BIN)/baton db upgrade
	$(BIN)/baton demo
	$(BIN)/baton serve

## The whole suite against real PostgreSQL (embedded, or BATON_TEST_DATABASE_URL)
test: $(STAMP)
	$(BIN)/pytest -n 2 --dist loadgroup

## Re-export docs/openapi.json (a test fails while it differs from the served document)
openapi: $(STAMP)
	$(BIN)/baton openapi > docs/openapi.json

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Every benchmark, one summary table, docs/benchmarks.md's sales section (the sales
## data set is generated once, ~3.5 min, and cached in .bench/; run times in the doc).
## BENCH_FLAGS=--only-sales runs the sales core alone; --quick: fewer rounds.
bench: $(STAMP)
	$(BIN)/python -m bench.run_all $(BENCH_FLAGS)

clean-data:
	rm -rf .baton
