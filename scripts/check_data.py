#!/usr/bin/env python
"""Check a data folder without running the workflow: `make check-data` (exit 0 = it would ingest, 1 = it would not).

Runs the ingest stage's validation into a temporary folder (nothing in data/ or results/ changes) and
prints per file its size and lines, per table its rows, households and day range, then the problems
and the counted warnings. --source dunnhumby checks the original's 8 CSVs; --source canonical a folder
of the canonical parquet tables.
"""

import sys

from segtarget.core import cli
from segtarget.data.check import SOURCES, check_folder


def run(args):
    report = check_folder(args.source, args.dir)
    print(report.text())
    if not report.ok:
        sys.exit(1)


if __name__ == "__main__":
    ap = cli.parser(__doc__)
    ap.add_argument("--source", choices=SOURCES, default="dunnhumby", help="dunnhumby (CSV folder) or canonical (parquet)")
    ap.add_argument("--dir", default="data/raw/dunnhumby", help="the folder to check (default: data/raw/dunnhumby)")
    cli.main(run, ap)
