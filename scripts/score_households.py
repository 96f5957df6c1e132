#!/usr/bin/env python
"""Stage `score_households`: every current household scored for the next campaign by the selected CATE model.

Composes the feature code, Track 1 (the saved segment model: segment of each household from the
same lookback window, value tier re-ranked among the current households) and Track 2 (covariates
as the cohort builds them, the selected learner refitted on the cohort). The policy stage turns
the scores into target_list.csv, so a policy parameter change does not refit anything here.
"""

from segtarget import features as F
from segtarget.core import cli, io, params
from segtarget.data.columns import CAMPAIGN, HOUSEHOLD
from segtarget.track1.model import assign_segments, load_model
from segtarget.track2.cohort import load_tables
from segtarget.track2.policy_segments import assign_units
from segtarget.track2.scoring import current_units, score_households


def run(args):
    cohort_p, features, cate, ate, positivity, compute = params.load_section(
        args.params, "cohort", "features", "cate", "ate", "positivity", "compute")
    con = F.connect("duckdb", compute["threads"], compute["memory_limit"])
    units, cov = current_units(con, load_tables(con, args.interim_dir), cohort_p, features)
    model = load_model(args.model)
    segs = assign_units(units[[HOUSEHOLD, CAMPAIGN, *F.FEATURES]], lambda f: assign_segments(f, model),
                        tiers=lambda f: model.tiers().fit(f).transform(f))
    households, scores, metrics = score_households(
        io.read_csv(args.cohort), io.read_csv(args.scores), io.read_csv(args.dr_scores), io.read_csv(args.selection),
        units, cov, cate, ate, positivity)
    households = households.merge(segs.drop(columns=CAMPAIGN), on=HOUSEHOLD, how="left", validate="one_to_one")
    io.write_csv(households, args.households)
    io.write_csv(scores, args.out)
    io.write_json({"track2": {"household_scores": metrics}}, args.metrics)


if __name__ == "__main__":
    ap = cli.parser(__doc__)
    ap.add_argument("--cohort", default="results/tables/cohort.csv")
    ap.add_argument("--scores", default="results/tables/propensity_scores.csv")
    ap.add_argument("--dr-scores", dest="dr_scores", default="results/tables/dr_scores.csv")
    ap.add_argument("--selection", default="results/tables/cate_model_selection.csv")
    ap.add_argument("--model", default="results/models/segmentation.json", help="the saved Track 1 segment model")
    ap.add_argument("--interim-dir", default="data/interim")
    ap.add_argument("--households", default="results/tables/current_households.csv",
                    help="one row per household: window, propensity, overlap, segment, tier, covariates")
    ap.add_argument("--out", default="results/tables/household_scores.csv", help="predicted effect per household x outcome")
    ap.add_argument("--metrics", default="results/metrics/score_households.json")
    cli.main(run, ap)
