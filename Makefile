# Two commands for a fresh machine: `make demo` runs the main job, `make test` the whole suite.
# Each creates the project's virtualenv (.venv) and installs what it needs on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PEERS := tests/peers/node_modules/.package-lock.json

.PHONY: demo test bench clean

demo: $(VENV)/.examples
	$(BIN)/python examples/quickstart_tools.py

test: $(VENV)/.test $(PEERS)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

bench: $(VENV)/.test
	$(BIN)/python bench/tool_calls.py

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.examples: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[examples]'
	touch $@

$(VENV)/.test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# The third-party MCP peers the tests run against (npm reference servers, MCP Inspector), pinned.
$(PEERS): tests/peers/package.json tests/peers/package-lock.json
	cd tests/peers && npm ci --no-audit --no-fund --loglevel=error

clean:
	rm -rf $(VENV) tests/peers/node_modules
