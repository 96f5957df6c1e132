#!/usr/bin/env python
"""Stage `refute`: refuters of the headline ATE (same estimator refitted) and its sensitivity to hidden confounding."""

from segtarget.core import cli, io, params
from segtarget.track2.refute import prepare, run_refutation
from segtarget.track2.sensitivity import run_sensitivity


def run(args):
    refute, ate, positivity, compute = params.load_section(args.params, "refute", "ate", "positivity", "compute")
    head = prepare(io.read_csv(args.cohort), io.read_csv(args.scores), io.read_csv(args.ate), ate, positivity,
                   population=refute["population"], origin=args.cohort, ate_origin=args.ate)
    table, refutation = run_refutation(head, refute, n_jobs=compute["threads"])
    sens, sensitivity = run_sensitivity(head, refute, n_jobs=compute["threads"])
    io.write_csv(table, args.out)
    io.write_csv(sens, args.sensitivity)
    io.write_json({"track2": {"refutation": refutation, "sensitivity": sensitivity}}, args.metrics)


if __name__ == "__main__":
    ap = cli.parser(__doc__)
    ap.add_argument("--cohort", default="results/tables/cohort.csv")
    ap.add_argument("--scores", default="results/tables/propensity_scores.csv")
    ap.add_argument("--ate", default="results/tables/ate.csv", help="the ATE table whose headline row is refuted")
    ap.add_argument("--out", default="results/tables/refutation.csv")
    ap.add_argument("--sensitivity", default="results/tables/sensitivity.csv")
    ap.add_argument("--metrics", default="results/metrics/refute.json")
    cli.main(run, ap)
