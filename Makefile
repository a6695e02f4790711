# kamlib — two commands do all set-up on a fresh machine:
#   make reports   build the demo company into data/demo.duckdb and render the scheduled reports
#   make test      the whole test suite (lint, unit, notebooks, real exports, browser, Spark)
# Both create .venv and install the pinned dependency set (constraints.txt) first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
STORE  ?= data/demo.duckdb
SCALE  ?= default
AS_OF  ?= 2026-09-30
PYTEST_ARGS ?=

.PHONY: setup reports demo lab test lint browser-deps java-deps bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# The optional Spark engine (kamlib[spark]: Ibis's pyspark extra) for the conformance tests.
SPARK_STAMP := $(VENV)/.spark-installed
$(SPARK_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,spark]'
	touch $(SPARK_STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/kam demo --scale $(SCALE) --store $(STORE)

# JupyterLab at the project root, the demo store built first when it is missing; notebooks
# read data/demo.duckdb and data/methodology.yml from here whatever folder their kernel starts
# in (kamlib.paths).  LAB_ARGS passes options, e.g. LAB_ARGS="--no-browser --port 8899".
LAB_ARGS ?=
lab: $(STAMP)
	@test -f $(STORE) || $(MAKE) demo
	$(BIN)/jupyter lab --notebook-dir=. $$([ "$$(id -u)" = 0 ] && echo --allow-root) $(LAB_ARGS)

reports: demo
	$(BIN)/kam schedule run data/schedule.yml --store $(STORE) --as-of $(AS_OF) --force
	@echo "Open reports/index.html"

# Debian's chromium (never `playwright install`), CJK fonts and the colour emoji font (the
# training course's ✅ ❌ ✏️ marks) for the browser tests.
# Without them the browser tests skip, except under CI (KAMLIB_REQUIRE_BROWSER, set by
# .ci/run): there this target fails loudly rather than let them skip.
browser-deps:
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "noto.*cjk" \
	    || ! fc-list 2>/dev/null | grep -qi "noto color emoji"; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk fonts-noto-color-emoji >/dev/null) \
	      || echo "make: could not install chromium, fonts-noto-cjk and fonts-noto-color-emoji with apt-get" >&2; \
	  else \
	    echo "make: chromium or fonts missing; run 'sudo apt-get install chromium fonts-noto-cjk fonts-noto-color-emoji' (browser tests skip without chromium)" >&2; \
	  fi; \
	fi
	@if [ -n "$$KAMLIB_REQUIRE_BROWSER" ] && { [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "noto.*cjk"; }; then \
	  echo "make: KAMLIB_REQUIRE_BROWSER is set (CI) but /usr/bin/chromium or fonts-noto-cjk is missing: install them (sudo apt-get install chromium fonts-noto-cjk)" >&2; \
	  exit 1; \
	fi

# Debian's Java runtime (never a downloaded JDK) for the Spark conformance tests.
java-deps:
	@if ! command -v java >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends default-jre-headless >/dev/null) \
	      || echo "make: could not install Java; Spark tests will be skipped" >&2; \
	  else \
	    echo "make: java missing; run 'sudo apt-get install default-jre-headless' (Spark tests skip without it)" >&2; \
	  fi; \
	fi

# ruff, and the layers contract of ARCHITECTURE.md ([tool.importlinter] in pyproject.toml)
lint: $(STAMP)
	$(BIN)/ruff check kamlib tests benchmarks
	$(BIN)/lint-imports

test: $(STAMP) $(SPARK_STAMP) browser-deps java-deps lint
	$(BIN)/pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_import.py
	$(BIN)/python benchmarks/bench_report_batch.py

clean:
	rm -rf $(VENV) reports/*/ reports/index.html data/*.duckdb .pytest_cache
