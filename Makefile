# Every target does its own setup: a fresh clone needs only `make run` or `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

.PHONY: setup run test lint bench docs clean infra-check

setup: $(STAMP) $(NODE_STAMP) $(CHECKOV_STAMP)

$(STAMP): pyproject.toml requirements.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -e '.[dev]'
	touch $(STAMP)

# Azurite (Table and Queue Storage emulator) for the tests and the story in `make run`.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

# checkov pins pycep-parser==0.5.1; the tests parse Bicep with 0.7.1: checkov gets its own venv.
$(CHECKOV_STAMP):
	test -x $(CHECKOV_VENV)/bin/python || $(PY) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check checkov==3.3.30
	touch $(CHECKOV_STAMP)

# The baseline report of the sample estate, then the event story through the pipeline on Azurite.
run: setup
	$(BIN)/aks-compliance evaluate examples/estate --fail-on none
	$(BIN)/python -m devtools.azurite -- sh devtools/story.sh

test: setup lint
	$(BIN)/python -m pytest

infra-check: setup
	$(BIN)/python -m pytest tests/test_infra.py tests/test_kql.py

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: setup
	$(BIN)/python -m benchmarks.bench_evaluate
	$(BIN)/python -m benchmarks.bench_events
	$(BIN)/python -m benchmarks.bench_coldstart

docs: setup
	$(BIN)/aks-compliance controls --format markdown > docs/controls.md
	$(BIN)/python -m devtools.gen_schema

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) node_modules out .pytest_cache .mypy_cache .ruff_cache
