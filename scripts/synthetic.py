#!/usr/bin/env python
"""Stage `synthetic`: write the synthetic retailer (dunnhumby CSV format + truth files).

Writes only MANIFEST.json when data.source is not `synthetic`.
"""

from segtarget.core import cli, params
from segtarget.data.synthetic import write_synthetic


def run(args):
    data, synth = params.load_section(args.params, "data", "synthetic")
    write_synthetic(data, synth, args.out_dir)


if __name__ == "__main__":
    ap = cli.parser(__doc__)
    ap.add_argument("--out-dir", default="data/raw/synthetic", help="output folder (replaced atomically)")
    cli.main(run, ap)
