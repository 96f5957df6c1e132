#!/usr/bin/env python
"""Stage `semisynthetic`, one job: simulate one (shape, replication) with a known effect on the real
cohort and rerun every ATE estimator, CATE learner and the selection rule on it."""

import logging
import time

from segtarget.core import cli, io, params
from segtarget.track2.semisynthetic import check_params, run_replication

log = logging.getLogger("segtarget")


def run(args):
    sem, ate, positivity, cate, cate_eval, compute = params.load_section(
        args.params, "semisynthetic", "ate", "positivity", "cate", "cate_eval", "compute")
    check_params(sem, args.shape, args.rep)  # before reading any input
    start = time.perf_counter()
    table = run_replication(io.read_csv(args.cohort), io.read_csv(args.scores), sem, ate, positivity, cate, cate_eval,
                            args.shape, args.rep, origin=args.cohort, n_jobs=compute["threads"])
    io.write_csv(table, args.out or f"results/semisynthetic/{args.shape}_{args.rep}.csv")
    log.info("semisynthetic %s/%d done in %.0f s", args.shape, args.rep, time.perf_counter() - start)


if __name__ == "__main__":
    ap = cli.parser(__doc__)
    ap.add_argument("--cohort", default="results/tables/cohort.csv")
    ap.add_argument("--scores", default="results/tables/propensity_scores.csv")
    ap.add_argument("--shape", required=True, help="effect shape, one of semisynthetic.shapes")
    ap.add_argument("--rep", type=int, required=True, help="replication number, one of semisynthetic.replications")
    ap.add_argument("--out", default=None, help="default: results/semisynthetic/{shape}_{rep}.csv")
    cli.main(run, ap)
