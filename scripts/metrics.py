#!/usr/bin/env python
"""Stage `metrics`: merge the per-stage metric files into results/metrics.json."""

from segtarget.core import cli
from segtarget.core.metrics import merge_files


def run(args):
    merge_files(args.inputs, args.out)


if __name__ == "__main__":
    ap = cli.parser(__doc__)
    ap.add_argument("--inputs", nargs="+", required=True, help="per-stage metric JSON files")
    ap.add_argument("--out", default="results/metrics.json", help="merged metrics file")
    cli.main(run, ap)
