#!/usr/bin/env python
"""Score households with the saved segment model: segment, names, value tier and factor scores.

Example: python scripts/assign_segments.py --features new_customer_features.csv --out new_segments.csv
(the feature table needs household_id and the model's input columns, as the features stage writes them).
"""

from segtarget.core import cli, io
from segtarget.track1.model import assign_segments, load_model


def run(args):
    model = load_model(args.model)
    features = io.read_csv(args.features)
    io.write_csv(assign_segments(features, model, origin=args.features), args.out)


if __name__ == "__main__":
    ap = cli.parser(__doc__)
    ap.add_argument("--features", required=True, help="customer feature table (CSV) of the households to score")
    ap.add_argument("--model", default="results/models/segmentation.json", help="saved segment model (JSON)")
    ap.add_argument("--out", required=True, help="where the assignments go (CSV)")
    cli.main(run, ap)
