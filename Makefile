# The README's commands. Each target installs what it needs on first use.
SHELL := /bin/bash
PYTHON ?= python3
TOOLS := .ci-tools
UV := $(TOOLS)/bin/uv
VENV := .venv
STAMP := $(VENV)/.installed

export UV_COMPILE_BYTECODE := 1
export UV_LINK_MODE := copy
export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 120
export PREFECT_HOME ?= $(CURDIR)/.prefect

.PHONY: install demo test bench lint format clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet 'uv==0.13.9'

$(STAMP): pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --extra dev --python $(PYTHON)
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP) ## run a demo sync against the built-in sandbox
	$(VENV)/bin/baton demo

test: $(STAMP) ## lint, type-check and run the test suite
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -q

bench: $(STAMP) ## benchmarks: API calls, wall time, peak memory at 10,000 contacts per side
	$(VENV)/bin/pytest -q -m benchmark -p no:randomly tests/benchmarks -s

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) $(TOOLS) .prefect .baton
