"""End to end: Snakemake runs the whole workflow on a tiny synthetic config."""

from __future__ import annotations

import pandas as pd
import pytest

from workflow_helpers import copy_project, snakemake, tiny_params

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    proj = copy_project(tmp_path_factory.mktemp("wf"), tiny_params())
    snakemake(proj)
    return proj


def test_data_stage(project):
    summary = pd.read_csv(project / "results/tables/data_summary.csv").set_index("table")
    tx = summary.loc["transactions"]
    assert tx["households"] > 150 and tx["rows"] > 10_000
    assert tx["first_day"] == 1 and tx["last_day"] <= 30 * 7
    assert (project / "data/raw/synthetic/truth.csv").exists()
    for t in ("transactions", "products", "campaigns", "promotions"):
        assert (project / f"data/interim/{t}.parquet").exists()


def test_every_rule_logged_and_benchmarked(project):
    logs = {p.stem for p in (project / "logs").glob("*.log")}
    bench = {p.stem for p in (project / "logs/benchmarks").glob("*.tsv")}
    assert {"synthetic", "ingest"} <= logs and logs == bench


def test_second_run_does_nothing(project):
    res = snakemake(project, "-n")
    assert "Nothing to be done" in res.stdout + res.stderr
