#!/usr/bin/env python
"""Stage `semisynthetic_gather`: stack the semi-synthetic replications, summarise them per shape and
estimator / learner, draw the benchmark figure and write the track2.validation metrics."""

from pathlib import Path

from segtarget.core import cli, io, params
from segtarget.track2.figures_validation import save_figures
from segtarget.track2.semisynthetic import check_params
from segtarget.track2.semisynthetic_eval import gather, summarise, validation_metrics


def run(args):
    sem, cate_eval = params.load_section(args.params, "semisynthetic", "cate_eval")
    check_params(sem)
    files = args.reps or [Path(args.reps_dir) / f"{s}_{r}.csv" for s in sem["shapes"]
                          for r in sem["replications"]]
    table = gather([io.read_csv(f) for f in files], sem["shapes"], sem["replications"], sem["outcomes"])
    summary = summarise(table)
    with io.staged_dir(Path(args.figures_dir)) as tmp:
        save_figures(summary, tmp)
    io.write_csv(table, args.out)
    io.write_csv(summary, args.summary)
    io.write_json(validation_metrics(summary, sem, cate_eval["selection_rule"]), args.metrics)


if __name__ == "__main__":
    ap = cli.parser(__doc__)
    ap.add_argument("--reps", nargs="+", default=None,
                    help="the replication tables (default: {reps-dir}/{shape}_{rep}.csv for every shape and rep in params)")
    ap.add_argument("--reps-dir", default="results/semisynthetic")
    ap.add_argument("--out", default="results/tables/semisynthetic.csv")
    ap.add_argument("--summary", default="results/tables/semisynthetic_summary.csv")
    ap.add_argument("--figures-dir", default="results/figures/semisynthetic")
    ap.add_argument("--metrics", default="results/metrics/semisynthetic.json")
    cli.main(run, ap)
