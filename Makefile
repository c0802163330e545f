# The two commands of the quick start. Each creates .venv when missing and installs the project.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: up test bench clean chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $@

up: $(VENV)/.installed
	$(BIN)/lgsp-hub up

# The dashboard's browser test drives Debian's Chromium (Playwright's own browser download is not used).
chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

test: $(VENV)/.installed chromium
	$(BIN)/python -m pytest

bench: $(VENV)/.installed
	$(BIN)/python bench/route.py

clean:
	rm -rf $(VENV) lgsp-hub.db
