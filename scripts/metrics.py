#!/usr/bin/env python
"""Stage `metrics`: merge the per-stage metric files into results/metrics.json, and write the provenance record.

The provenance record (results/run_info.json: code version, a hash of the whole params file, the
data's source and size, package versions) depends on every parameter; it is written here, by a
stage that takes a second, rather than by the report documents, so that each document can depend
only on the results and params sections it prints.
"""

from segtarget.core import cli, io
from segtarget.core.metrics import merge_files
from segtarget.core.provenance import run_info


def run(args):
    merge_files(args.inputs, args.out)
    if args.run_info:
        io.write_json(run_info(args.params, args.data_summary), args.run_info)


if __name__ == "__main__":
    ap = cli.parser(__doc__)
    ap.add_argument("--inputs", nargs="+", required=True, help="per-stage metric JSON files")
    ap.add_argument("--out", default="results/metrics.json", help="merged metrics file")
    ap.add_argument("--data-summary", default="results/tables/data_summary.csv", help="data summary of the ingest stage")
    ap.add_argument("--run-info", default=None, help="provenance record to write (default: none)")
    cli.main(run, ap)
