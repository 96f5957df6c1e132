#!/usr/bin/env python
"""Stage `report`: render the Quarto report project to self-contained HTML and PDF.

Uses `quarto render` when quarto is on PATH, else the equivalent Jupyter + pandoc + Typst
renderer in segtarget.report.render. Documents read results/ themselves (through
segtarget.report.results), from --exec-dir (default: the parent of --project). Outputs go to
--out-dir/<lang>/<name>.{html,pdf}; nothing is written unless every document renders.
Before rendering it writes the provenance record (--run-info) that the appendices show; the
render date is the time of the code version it records (SOURCE_DATE_EPOCH), so that the same
commit renders byte-identical reports. The appendices list every parameter, so the stage
depends on the whole params file.
"""

from __future__ import annotations

import os

from segtarget.core import cli, io, params
from segtarget.core.provenance import run_info
from segtarget.report.render import ENGINES, FORMATS, render_project


def run(args) -> None:
    params.load(args.params)  # validate; the documents read the file themselves
    info = run_info(args.params, args.data_summary)
    io.write_json(info, args.run_info)
    if info["code"]["commit_time"] and "SOURCE_DATE_EPOCH" not in os.environ:
        os.environ["SOURCE_DATE_EPOCH"] = str(info["code"]["commit_time"])
    render_project(args.project, args.out_dir, args.documents or None, exec_dir=args.exec_dir,
                   formats=args.formats, engine=args.engine, timeout=args.timeout)


if __name__ == "__main__":
    ap = cli.parser(__doc__)
    ap.add_argument("--project", default="report", help="Quarto project folder (default: report)")
    ap.add_argument("--out-dir", default="report/_output", help="output folder (default: report/_output)")
    ap.add_argument("--documents", nargs="+", metavar="DOC",
                    help="render only these documents, e.g. en/track1 ko/track1 (default: all)")
    ap.add_argument("--exec-dir", default=None,
                    help="working directory of the code chunks (default: parent of --project)")
    ap.add_argument("--formats", nargs="+", choices=FORMATS, default=list(FORMATS),
                    help="output formats (default: html pdf)")
    ap.add_argument("--engine", choices=ENGINES, default="auto",
                    help="auto: quarto if on PATH, else the fallback renderer (default: auto)")
    ap.add_argument("--data-summary", default="results/tables/data_summary.csv", help="data summary of the ingest stage")
    ap.add_argument("--run-info", default="results/run_info.json", help="provenance record to write")
    ap.add_argument("--timeout", type=int, default=600, help="seconds allowed per chunk (default: 600)")
    cli.main(run, ap)
