#!/usr/bin/env python
"""Stage `cate`: gather the cate_fit jobs (one per learner x outcome) into the predictions table, its summary and figure."""

from pathlib import Path

from segtarget.core import cli, io, params
from segtarget.track2 import figures as FIG
from segtarget.track2.cate import gather_cate


def run(args):
    cate, ate, positivity = params.load_section(args.params, "cate", "ate", "positivity")
    parts = [io.read_csv(Path(args.parts_dir) / o / f"{m}.csv") for o in ate["outcomes"] for m in cate["models"]]
    table, summary, metrics = gather_cate(io.read_csv(args.cohort), io.read_csv(args.scores), parts, cate, ate,
                                          positivity, origin=args.cohort)
    with io.staged_dir(Path(args.figures_dir)) as tmp:
        FIG.save_bilingual(FIG.cate_distribution_plot, tmp / "cate_distribution.png", table)
    io.write_csv(table, args.out)
    io.write_csv(summary, args.summary)
    io.write_json({"track2": metrics}, args.metrics)


if __name__ == "__main__":
    ap = cli.parser(__doc__)
    ap.add_argument("--cohort", default="results/tables/cohort.csv")
    ap.add_argument("--scores", default="results/tables/propensity_scores.csv")
    ap.add_argument("--parts-dir", default="results/cate", help="the cate_fit jobs' tables: <outcome>/<model>.csv")
    ap.add_argument("--out", default="results/tables/cate_predictions.csv")
    ap.add_argument("--summary", default="results/tables/cate_summary.csv")
    ap.add_argument("--figures-dir", default="results/figures/cate")
    ap.add_argument("--metrics", default="results/metrics/cate.json")
    cli.main(run, ap)
