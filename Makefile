# segtarget: `make run` and `make test` do everything on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CORES ?= 4
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: setup run record verify reference test lint lock bench check-data clean-results

setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.9
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

# Snakemake runs the workflow; `make record` then lets DVC record what it produced.
run: setup
	$(BIN)/snakemake --cores $(CORES) --profile workflow/profiles/default
	$(MAKE) --no-print-directory record

# `dvc commit` stores Snakemake's outputs in DVC's cache and dvc.lock, so that `dvc status`,
# `dvc repro` and `dvc exp` start from this run. It rewrites each output (cache copy back
# into the workspace), which gives the files new modification times in an arbitrary order,
# and Snakemake, which reruns a job whose inputs are newer than its outputs, would then
# redo the whole workflow. `snakemake --touch` puts the times back in the order of the
# workflow without changing any content; DVC, which compares content hashes, stays clean.
record:
	dvc commit --force --quiet
	snakemake --touch --cores 1 --profile workflow/profiles/default --quiet

# Compare this run's results with the committed reference values, within the tolerances
# stated per quantity (reference/tolerances.yaml); `make reference` records a new reference.
verify: setup
	$(BIN)/python scripts/verify.py

reference: setup
	$(BIN)/python scripts/verify.py --write

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/snakemake --lint

lock: $(VENV)/bin/uv
	$(BIN)/uv pip compile requirements.in -o requirements.lock --python-version 3.11

bench: setup
	$(BIN)/python benchmarks/run_benchmarks.py

# Check a data folder before running anything (nothing is written): make check-data DIR=path/to/csvs
# (SOURCE=canonical for a folder of canonical parquet tables).
SOURCE ?= dunnhumby
DIR ?= data/raw/dunnhumby
check-data: setup
	$(BIN)/python scripts/check_data.py --source $(SOURCE) --dir $(DIR)

clean-results:
	rm -rf results data/interim report/_output .snakemake

environment.yml: requirements.lock src/segtarget/core/envfile.py
	$(BIN)/python -m segtarget.core.envfile .
