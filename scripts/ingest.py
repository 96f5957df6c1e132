#!/usr/bin/env python
"""Stage `ingest`: read data.source and write the canonical tables + data_summary.csv."""

from segtarget.core import cli, params
from segtarget.data.ingest import ingest


def run(args):
    data = params.load_section(args.params, "data")
    ingest(data, args.out_dir, args.summary, synthetic_dir=args.synthetic_dir)


if __name__ == "__main__":
    ap = cli.parser(__doc__)
    ap.add_argument("--synthetic-dir", default="data/raw/synthetic", help="output folder of the synthetic stage")
    ap.add_argument("--out-dir", default="data/interim", help="folder for the canonical parquet tables")
    ap.add_argument("--summary", default="results/tables/data_summary.csv", help="data summary CSV")
    cli.main(run, ap)
