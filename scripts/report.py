#!/usr/bin/env python
"""Stage `report`: render the Quarto report project to self-contained HTML and PDF.

Uses `quarto render` when quarto is on PATH, else the equivalent Jupyter + pandoc + Typst
renderer in segtarget.report.render. Documents read results/ themselves (through
segtarget.report.results), from --exec-dir (default: the parent of --project). Outputs go to
--out-dir/<lang>/<name>.{html,pdf}; nothing is written unless every document renders.
The render date is the time of the code version (SOURCE_DATE_EPOCH), so that the same commit
renders byte-identical reports. The workflow runs one job per document and language
(--documents en/track1), each depending only on the results and params sections it prints.
"""

from __future__ import annotations

import os

from segtarget.core import cli, params
from segtarget.core.provenance import code_version
from segtarget.report.render import ENGINES, FORMATS, render_project

#: The params sections each document prints (its appendix and its method text); its workflow stage
#: (dvc.yaml report_<doc>) declares exactly these, so a change elsewhere does not rerun it.
DOCUMENT_PARAMS = {
    "track1": ("data", "synthetic", "features", "segmentation"),
    "track2": ("data", "synthetic", "cohort", "positivity", "ate", "cate", "cate_eval", "refute", "semisynthetic", "policy"),
    "summary": ("data", "synthetic", "cohort", "positivity", "ate", "cate", "cate_eval", "refute", "semisynthetic", "policy"),
}


def run(args) -> None:
    docs = {d.split("/")[-1] for d in args.documents} if args.documents else set(DOCUMENT_PARAMS)
    # validates the whole file; the documents read their sections themselves
    params.load_section(args.params, *sorted({s for d in docs for s in DOCUMENT_PARAMS.get(d, ())}))
    code = code_version()
    if code["commit_time"] and "SOURCE_DATE_EPOCH" not in os.environ:
        os.environ["SOURCE_DATE_EPOCH"] = str(code["commit_time"])
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
    ap.add_argument("--timeout", type=int, default=600, help="seconds allowed per chunk (default: 600)")
    cli.main(run, ap)
