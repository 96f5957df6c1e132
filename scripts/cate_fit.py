#!/usr/bin/env python
"""Stage `cate_fit`: one CATE learner on one outcome, every cohort unit predicted out of fold (one job per pair).

Each job fits its folds one after the other in one process: the parallelism is across jobs
(snakemake --cores N runs N of them at once, a cluster executor as many as it has slots), and
worker processes inside a job would each pay econml's import again.
"""

from segtarget.core import cli, io, params
from segtarget.core.errors import ParamError
from segtarget.track2.cate import run_cate_part


def run(args):
    cate, ate, positivity = params.load_section(args.params, "cate", "ate", "positivity")
    if args.model not in cate["models"]:
        raise ParamError(f"cate_fit: --model {args.model!r} is not in cate.models ({', '.join(cate['models'])})")
    part = run_cate_part(io.read_csv(args.cohort), io.read_csv(args.scores), cate, ate, positivity, args.model,
                         args.outcome, origin=args.cohort, n_jobs=1)
    io.write_csv(part, args.out)


if __name__ == "__main__":
    ap = cli.parser(__doc__)
    ap.add_argument("--cohort", default="results/tables/cohort.csv")
    ap.add_argument("--scores", default="results/tables/propensity_scores.csv")
    ap.add_argument("--model", required=True, help="a learner of cate.models")
    ap.add_argument("--outcome", required=True, help="an outcome of ate.outcomes")
    ap.add_argument("--out", required=True, help="results/cate/<outcome>/<model>.csv")
    cli.main(run, ap)
