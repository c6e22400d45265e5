# Territoria: make help lists the targets. Everything installs itself into .venv.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
WS     ?= demo-workspace
WORKERS ?= 2

.DEFAULT_GOAL := help

## help: list the targets
help:
	@awk 'BEGIN {FS = ": "} /^## / {sub(/^## /, ""); split($$0, a, ": "); printf "  make %-10s %s\n", a[1], a[2]}' $(MAKEFILE_LIST)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $@

## install: create .venv and install the kit with its test tools
install: $(VENV)/.installed

## demo: build the sample city (Iztapalapa), ingest, run every step, publish the site
demo: install
	$(BIN)/territoria demo $(WS) --force --workers $(WORKERS)

## test: run the test suite (installs first; browser tests need Debian's chromium)
test: install
	$(BIN)/python -m pytest -q

## lab: build a classroom on the sample city (one colonia per learner, LEARNERS=n) and open JupyterLab
lab: install
	$(BIN)/python -m pip install --quiet -e ".[lab]"
	$(BIN)/territoria lab $(WS) --learners $(or $(LEARNERS),1)

## lint: ruff, the import contracts (.importlinter) and mypy (mypy.ini)
lint: install
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/lint-imports
	$(BIN)/mypy --config-file mypy.ini

## bench: run the benchmark scripts (numbers go to benchmarks/README.md)
bench: install
	$(BIN)/python benchmarks/bench_sample.py

## clean: remove the virtualenv, caches and the demo workspace
clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache $(WS) build dist src/*.egg-info

.PHONY: help install demo test lab lint bench clean
