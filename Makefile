# Every target does its own setup: a fresh clone needs only `make run` or `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

.PHONY: setup test-setup run test quick dev test-dates lint bench docs clean infra-check chromium faketime chaos audit

# Dates far from today and from each other: the time-sensitive tests run at both under faketime.
FAKE_DATES ?= 2026-01-15 2031-07-01
# Every test but the browser, checkov and Kusto-service ones (they read no clock) and the slow
# fault-injection and fuzz runs (their rig keeps one clock of its own; under libfaketime's locks
# the parallel chaos scenarios take five times as long) runs at those dates.
DATED_TESTS ?= not browser and not checkov and not node and not slow

# What running needs (the venv, Azurite); the tests also need checkov's own venv.
setup: $(STAMP) $(NODE_STAMP)
test-setup: setup $(CHECKOV_STAMP)

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

# The HTML report's browser test needs Debian's Chromium, the dated runs Debian's faketime:
# installed where the machine allows (else those parts are skipped, with a message).
chromium:
	@sh devtools/apt_install.sh chromium chromium "the browser test of the HTML report will be skipped"

faketime:
	@sh devtools/apt_install.sh faketime faketime "the suite will not be run at other dates"

test: test-setup lint chromium faketime
	$(BIN)/python -m devtools.audit --timeout 60
	$(BIN)/python -m pytest
	$(MAKE) --no-print-directory test-dates

# The suite once turned red the day after it was written: prove it does not depend on the date.
# faketime moves the wall clock by an offset from now (an absolute start date would restart in
# every new process, and Azurite, the chaos workers and the tests must agree on the time); the
# monotonic clock stays real (see devtools/faketime/sitecustomize.py for why).
test-dates: test-setup faketime
	@if ! command -v faketime >/dev/null 2>&1; then echo "make: no faketime: the dated runs are skipped"; exit 0; fi; \
	for day in $(FAKE_DATES); do \
	  offset=$$(( $$(date -u -d "$$day 12:00:00" +%s) - $$(date -u +%s) )); \
	  [ $$offset -ge 0 ] && offset="+$$offset"; \
	  echo "== the tests at $$day (faketime $$offset s)"; \
	  FAKETIME_DISABLE_SHM=1 NO_FAKE_STAT=1 FAKETIME_DONT_FAKE_MONOTONIC=1 PYTHONPATH=$(CURDIR)/devtools/faketime \
	    faketime -f "$$offset" $(BIN)/python -m pytest -p no:cacheprovider -m "$(DATED_TESTS)" || exit 1; \
	done

# Table and Queue Storage that persist between commands, for trying the pipeline by hand.
dev: setup
	PATH="$(CURDIR)/node_modules/.bin:$$PATH" $(BIN)/aks-compliance dev-storage

# The edit-test loop: pure Python, no Azurite, Chromium, node or checkov (well under 30 s).
quick: setup
	$(BIN)/python -m pytest -m "not azurite and not browser and not slow"

# Dependencies against the advisory database (skipped, with a message, when it cannot be reached).
audit: setup
	$(BIN)/python -m devtools.audit

# Fault injection on Azurite and the loopback doubles (table + out/chaos.json; exit 1 on any loss),
# then the fuzz targets for a bounded time. `make test` runs the short form (tests/test_chaos.py).
chaos: setup
	$(BIN)/python -m devtools.chaos
	$(BIN)/python -m devtools.fuzz --seconds 120

infra-check: test-setup
	$(BIN)/python -m pytest tests/test_infra.py tests/test_kql.py

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

bench: setup
	$(BIN)/python -m benchmarks

docs: setup
	$(BIN)/aks-compliance controls --format markdown > docs/controls.md
	$(BIN)/python -m devtools.gen_schema

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) node_modules out .pytest_cache .mypy_cache .ruff_cache
