# The two commands: `make demo` and `make test`. Both build their own virtual environment.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The demo needs only the package; the suite also needs the dev tools and the Spark extra.
DEMO_STAMP := $(VENV)/.installed-demo
TEST_STAMP := $(VENV)/.installed-test
# The pure-logic tier: no store, no synthetic province, no training, no browser, no Spark, no PostgreSQL.
FAST := not (store or province or model or browser or spark or postgres or slow)

.PHONY: demo demo-reset test test-fast lint style types format install spec clean bench browser java

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(DEMO_STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e '.[dev,spark]'
	touch $@ $(DEMO_STAMP)

install: $(TEST_STAMP)

# Idempotent: a second run reuses the province, the model, the keys and the plan of the first.
demo: $(DEMO_STAMP)
	$(VENV)/bin/credit-engine demo

# Start the demo over: its working folder and local model store go.
demo-reset:
	rm -rf var
	find models -mindepth 1 ! -name README.md -exec rm -rf {} +

test: $(TEST_STAMP) browser java
	$(PY) -m pytest -q -n 2 --dist loadgroup

test-fast: $(TEST_STAMP)
	$(PY) -m pytest -q -n 2 -m "$(FAST)"

# Both, clean; .ci/run runs it before the tests.
lint: style types

# ruff's lint and format check.
style: $(TEST_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# mypy with the pydantic plugin.
types: $(TEST_STAMP)
	$(VENV)/bin/mypy

format: $(TEST_STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# docs/spec/ is a copy of the specification beside the checkout, so a clone resolves every
# `RULES.md §…` the code cites.
spec:
	cp ../shared/RULES.md ../shared/DATA_CONTRACT.md ../shared/DESIGN.md docs/spec/

# The public page is tested in Debian's Chromium (with CJK fonts for readable screenshots).
browser:
	@command -v chromium >/dev/null && dpkg -s fonts-noto-cjk >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium and fonts-noto-cjk for the browser tests"; \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$( [ "$$(id -u)" = 0 ] || echo sudo ) \
	    apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk; }

# The Spark engine's test runs PySpark in local mode, which needs a Java 17 runtime.
java:
	@java -version 2>&1 | grep -Eq 'version "(1[7-9]|2[0-9])' || { \
	  echo "installing Debian's openjdk-17-jre-headless for the Spark engine's test"; \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$( [ "$$(id -u)" = 0 ] || echo sudo ) \
	    apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless; }

bench: $(TEST_STAMP)
	$(PY) benchmarks/ingest.py

clean:
	rm -rf $(VENV) var
