"""Benchmark of the whole workflow on a larger data set: time and peak memory per stage.

Copies the project (code and config) to a folder, points ``params.yaml`` at a synthetic
retailer (default ``synthetic:25000``: 25,000 households x 102 weeks, 10x the original
project's data, about 25.8M transaction lines) and runs ``snakemake --cores 2`` to the end
(reports included). Each rule's ``benchmark:`` file gives its wall time and peak memory
(``max_rss``/``max_pss``, MB, over the rule's process tree); the table lists them with the
quality bar of the specification: the whole workflow within 4 GB of memory.

Usage::

    python benchmarks/bench_workflow.py [--dataset synthetic:25000] [--dir DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

import datasets  # noqa: E402
from workflow_helpers import copy_project, snakemake  # noqa: E402

BUDGET_MB = 4096


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="synthetic:25000")
    ap.add_argument("--dir", default=None, help="project copy to run in (default: a temporary folder)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        project = copy_project(Path(args.dir or tmp) / "project", datasets.params_for(args.dataset))
        t0 = time.perf_counter()
        snakemake(project)
        total = time.perf_counter() - t0
        rows = []
        for tsv in sorted((project / "logs" / "benchmarks").glob("*.tsv")):
            b = pd.read_csv(tsv, sep="\t").iloc[-1]
            rows.append({"stage": tsv.stem, "wall_s": float(b["s"]), "max_rss_mb": float(b["max_rss"]),
                         "max_pss_mb": float(b["max_pss"]), "cpu_s": float(b["cpu_time"])})
        table = pd.DataFrame(rows).sort_values("wall_s", ascending=False)
        summary = pd.read_csv(project / "results" / "tables" / "data_summary.csv")
        lines = int(summary.loc[summary["table"] == "transactions", "rows"].iloc[0])
    print(f"whole workflow, {datasets.label(args.dataset)} ({lines:,} transaction lines), snakemake --cores 2: "
          f"{total / 60:.1f} min")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    peak = table["max_rss_mb"].max()
    print(f"largest stage peak {peak:,.0f} MB (budget {BUDGET_MB:,} MB): {'within' if peak <= BUDGET_MB else 'OVER'}")


if __name__ == "__main__":
    main()
