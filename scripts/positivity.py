#!/usr/bin/env python
"""Stage `positivity`: cross-fitted propensity scores, overlap, Crump trimming, covariate balance."""

from pathlib import Path


from segtarget.core import cli, io, params
from segtarget.track2 import figures as FIG
from segtarget.track2.positivity import run_positivity


def run(args):
    section = params.load_section(args.params, "positivity")
    res = run_positivity(io.read_csv(args.cohort), section, origin=args.cohort)
    tables = Path(args.tables_dir)
    figs = Path(args.figures_dir)
    io.write_csv(res.scores, tables / "propensity_scores.csv")
    io.write_csv(res.positivity, tables / "positivity.csv")
    io.write_csv(res.balance, tables / "balance.csv")
    io.write_csv(res.models, tables / "propensity_models.csv")
    io.write_csv(res.calibration, tables / "propensity_calibration.csv")
    with io.staged_dir(figs) as tmp:
        alpha = res.metrics["crump_threshold"]
        FIG.save_bilingual(FIG.propensity_histogram, tmp / "propensity_hist.png",
                           res.scores["propensity"].to_numpy(), res.scores["treated"].to_numpy(), crump_alpha=alpha)
        FIG.save_bilingual(FIG.love_plot, tmp / "love_plot.png", res.balance)
    io.write_json({"track2": res.metrics}, args.metrics)


if __name__ == "__main__":
    ap = cli.parser(__doc__)
    ap.add_argument("--cohort", default="results/tables/cohort.csv")
    ap.add_argument("--tables-dir", default="results/tables")
    ap.add_argument("--figures-dir", default="results/figures/positivity")
    ap.add_argument("--metrics", default="results/metrics/positivity.json")
    cli.main(run, ap)
