# Every target does its own setup: a fresh clone needs only `make run` or `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

.PHONY: setup run test lint bench docs clean infra-check chromium chaos audit

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
	@echo "HTML report: file://$(CURDIR)/out/report.html"

# The HTML report's browser test needs Debian's Chromium: installed where the machine allows.
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then sudo=""; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; else sudo=no; fi; \
	  if [ "$$sudo" != no ] && command -v apt-get >/dev/null 2>&1; then \
	    $$sudo apt-get update -q && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium \
	      || echo "make: chromium could not be installed: the browser test of the HTML report will be skipped"; \
	  else echo "make: no chromium and no way to install it here: the browser test of the HTML report will be skipped"; fi; }

test: setup lint chromium
	$(BIN)/python -m devtools.audit --timeout 60
	$(BIN)/python -m pytest

# Dependencies against the advisory database (skipped, with a message, when it cannot be reached).
audit: setup
	$(BIN)/python -m devtools.audit

# Fault injection on Azurite and the loopback doubles (table + out/chaos.json; exit 1 on any loss),
# then the fuzz targets for a bounded time. `make test` runs the short form (tests/test_chaos.py).
chaos: setup
	$(BIN)/python -m devtools.chaos
	$(BIN)/python -m devtools.fuzz --seconds 120

infra-check: setup
	$(BIN)/python -m pytest tests/test_infra.py tests/test_kql.py

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: setup
	$(BIN)/python -m benchmarks

docs: setup
	$(BIN)/aks-compliance controls --format markdown > docs/controls.md
	$(BIN)/python -m devtools.gen_schema

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) node_modules out .pytest_cache .mypy_cache .ruff_cache
