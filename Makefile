# segtarget: `make run` and `make test` do everything on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CORES ?= 4
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: setup run test lint lock bench clean-results

setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.9
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

# Snakemake runs the workflow; `dvc commit` then records what it produced in DVC's cache and
# dvc.lock, so that `dvc status`, `dvc repro` and `dvc exp` start from this run. On an
# unchanged checkout the lock stays byte-identical (CI checks that: every hash reproduced).
run: setup
	$(BIN)/snakemake --cores $(CORES) --profile workflow/profiles/default
	$(BIN)/dvc commit --force --quiet

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/snakemake --lint

lock: $(VENV)/bin/uv
	$(BIN)/uv pip compile requirements.in -o requirements.lock --python-version 3.11

bench: setup
	$(BIN)/python benchmarks/run_benchmarks.py

clean-results:
	rm -rf results data/interim report/_output .snakemake

environment.yml: requirements.lock src/segtarget/core/envfile.py
	$(BIN)/python -m segtarget.core.envfile .
