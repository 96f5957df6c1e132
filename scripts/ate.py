#!/usr/bin/env python
"""Stage `ate`: naive, OLS, RA, IPW, AIPW, ATO and LinearDML on the full and trimmed cohorts."""

from pathlib import Path

from segtarget.core import cli, io, params
from segtarget.track2 import figures as FIG
from segtarget.track2.ate import run_ate


def run(args):
    ate, positivity, compute = params.load_section(args.params, "ate", "positivity", "compute")
    table, metrics = run_ate(io.read_csv(args.cohort), io.read_csv(args.scores), ate, positivity,
                             origin=args.cohort, n_jobs=compute["threads"])
    with io.staged_dir(Path(args.figures_dir)) as tmp:
        FIG.save_bilingual(FIG.forest_plot, tmp / "ate_forest.png", table)
    io.write_csv(table, args.out)
    io.write_json({"track2": metrics}, args.metrics)


if __name__ == "__main__":
    ap = cli.parser(__doc__)
    ap.add_argument("--cohort", default="results/tables/cohort.csv")
    ap.add_argument("--scores", default="results/tables/propensity_scores.csv")
    ap.add_argument("--out", default="results/tables/ate.csv")
    ap.add_argument("--figures-dir", default="results/figures/ate")
    ap.add_argument("--metrics", default="results/metrics/ate.json")
    cli.main(run, ap)
