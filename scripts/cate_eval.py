#!/usr/bin/env python
"""Stage `cate_eval`: score the CATE models on doubly-robust scores and choose one by the params rule."""

from pathlib import Path

from segtarget.core import cli, io, params
from segtarget.track2 import figures_eval as FE
from segtarget.track2.cate_eval import run_cate_eval


def run(args):
    cate_eval, cate, ate, positivity, compute = params.load_section(
        args.params, "cate_eval", "cate", "ate", "positivity", "compute")
    out = run_cate_eval(io.read_csv(args.cohort), io.read_csv(args.scores), io.read_csv(args.predictions), cate_eval,
                        cate, ate, positivity, origin=args.cohort, pred_origin=args.predictions,
                        n_jobs=compute["threads"])
    with io.staged_dir(Path(args.figures_dir)) as tmp:
        FE.save_all(out, tmp, level=cate_eval["level"])
    io.write_csv(out.selection, args.selection)
    io.write_csv(out.curves, args.curves)
    io.write_csv(out.calibration, args.calibration)
    io.write_csv(out.customer_cate, args.out)
    io.write_csv(out.dr_scores, args.dr_scores)
    io.write_json({"track2": out.metrics}, args.metrics)


if __name__ == "__main__":
    ap = cli.parser(__doc__)
    ap.add_argument("--cohort", default="results/tables/cohort.csv")
    ap.add_argument("--scores", default="results/tables/propensity_scores.csv")
    ap.add_argument("--predictions", default="results/tables/cate_predictions.csv",
                    help="out-of-fold CATE of every learner (the cate stage)")
    ap.add_argument("--out", default="results/tables/customer_cate.csv",
                    help="the predictions with a `selected` flag")
    ap.add_argument("--selection", default="results/tables/cate_model_selection.csv")
    ap.add_argument("--curves", default="results/tables/uplift_curves.csv")
    ap.add_argument("--calibration", default="results/tables/cate_calibration.csv")
    ap.add_argument("--dr-scores", default="results/tables/dr_scores.csv",
                    help="every unit's cross-fitted nuisances and DR score (what the policy stage values on)")
    ap.add_argument("--figures-dir", default="results/figures/cate_eval")
    ap.add_argument("--metrics", default="results/metrics/cate_eval.json")
    cli.main(run, ap)
