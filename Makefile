# The two commands of the quick start. Each creates .venv when missing and installs the project.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: up test bench bench-scale clean chromium postgres java asyncapi-parser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $@

up: $(VENV)/.installed java
	$(BIN)/lgsp-hub up

# Apache Kafka runs on Java 17+ and its jars are fetched by Maven: Debian's packages, installed when missing
# (LGSP_BROKER=tansu needs neither).
java:
	@[ "$$LGSP_BROKER" = tansu ] || { command -v java >/dev/null && command -v mvn >/dev/null; } || \
	  (apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless maven >/dev/null)

# The dashboard's browser test drives Debian's Chromium (Playwright's own browser download is not used).
chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

# The AsyncAPI document's tests validate it with @asyncapi/parser (Node.js 18.18+ and npm: Debian's, installed when
# missing), at the version the lock pins.
ASYNCAPI_PARSER := tests/asyncapi/node_modules/.package-lock.json

$(ASYNCAPI_PARSER): tests/asyncapi/package-lock.json
	@command -v npm >/dev/null || (apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null)
	npm ci --prefix tests/asyncapi --ignore-scripts --no-audit --no-fund --silent

asyncapi-parser: $(ASYNCAPI_PARSER)

# The store tests run on SQLite and on a throwaway PostgreSQL server (Debian's, installed when missing).
PG_PORT ?= 55432
LGSP_TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:$(PG_PORT)/lgsp

postgres:
	@LGSP_PG_PORT=$(PG_PORT) bash scripts/test-postgres.sh >/dev/null

# The import contracts of pyproject.toml first (the architecture), then every behaviour test on Apache Kafka and
# on tansu (test ids [kafka] and [tansu]).
test: $(VENV)/.installed java chromium postgres asyncapi-parser
	$(BIN)/lint-imports --no-cache
	LGSP_TEST_POSTGRES_URL=$(LGSP_TEST_POSTGRES_URL) $(BIN)/python -m pytest

# Routing figures, synchronous call latency on Apache Kafka (~4 min), then a 10-minute soak of `lgsp-hub up`
# (bench/soak.py without --smoke: 2 hours).
bench: $(VENV)/.installed java
	$(BIN)/python bench/route.py --without-sasl --replay-window both --projection both
	$(BIN)/python bench/services.py
	$(BIN)/python bench/soak.py --smoke

# Router workers 1/2/4, latency under load, memory over a 1M backlog on both brokers (~15 min; see docs/performance.md).
bench-scale: $(VENV)/.installed java
	$(BIN)/python bench/scale.py

clean:
	bash scripts/test-postgres.sh stop
	rm -rf $(VENV) lgsp-hub.db .pg .lgsp tests/asyncapi/node_modules
