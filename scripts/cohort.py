#!/usr/bin/env python
"""Stage `cohort`: the stacked (household, campaign) cohort with not-yet-treated controls."""

from segtarget.core import cli, params
from segtarget.track2.cohort import build_cohort, load_tables
from segtarget.features import connect
from segtarget.core.io import write_csv


def run(args):
    cohort, features, compute = params.load_section(args.params, "cohort", "features", "compute")
    con = connect("duckdb", compute["threads"], compute["memory_limit"])
    table, flow = build_cohort(con, load_tables(con, args.interim_dir), cohort, features)
    write_csv(flow, args.flow)
    write_csv(table, args.out)


if __name__ == "__main__":
    ap = cli.parser(__doc__)
    ap.add_argument("--interim-dir", default="data/interim", help="canonical parquet tables")
    ap.add_argument("--out", default="results/tables/cohort.csv", help="one row per unit")
    ap.add_argument("--flow", default="results/tables/cohort_flow.csv", help="flow table")
    cli.main(run, ap)
