#!/usr/bin/env python
"""`make verify`: compare this run's results with the committed reference values.

Prints every quantity that differs from the reference at all, with its tolerance
(reference/tolerances.yaml), and exits 1 if any is outside it. `--write` records the
current run as the new reference instead (after a deliberate change of results).
"""

import json
import sys
from pathlib import Path

from segtarget.core import cli
from segtarget.core.io import write_json
from segtarget.core.verify import compare, load_rules, summarize


def run(args):
    current = summarize(args.results)
    if args.write:
        write_json(current, args.reference)
        print(f"wrote {len(current)} reference quantities to {args.reference}")
        return
    reference = json.loads(Path(args.reference).read_text())
    report = compare(current, reference, load_rules(args.tolerances))
    failed = report[~report["passed"]]
    print(f"{len(reference)} reference quantities; {len(report)} differ at all; {len(failed)} outside tolerance")
    if len(report):
        print(report.to_string(index=False, max_rows=200, float_format=lambda v: f"{v:.6g}"))
    if len(failed):
        sys.exit(1)


if __name__ == "__main__":
    ap = cli.parser(__doc__)
    ap.add_argument("--results", default="results", help="results folder of the run")
    ap.add_argument("--reference", default="reference/default_run.json", help="reference values (JSON)")
    ap.add_argument("--tolerances", default="reference/tolerances.yaml", help="tolerance rules (YAML)")
    ap.add_argument("--write", action="store_true", help="write this run's values as the reference")
    cli.main(run, ap)
