#!/usr/bin/env python
"""Stage `features`: the 33 customer features of every household over the full data window.

Reads the canonical transactions and products from --interim-dir on the backend of
params `compute` (DuckDB by default, or PySpark), with the options of params `features`,
and writes the feature table (household_id + 33 features, sorted by household) and the
feature dictionary (name, group, definition, unit).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from segtarget.core import cli, io, params
from segtarget.core.errors import InputError
from segtarget.features import (
    FEATURES,
    connect,
    feature_dictionary,
    features_from_params,
    read_tables,
)

log = logging.getLogger("segtarget.features")


def run(args) -> None:
    compute, feats = params.load_section(args.params, "compute", "features")
    interim_dir = Path(args.interim_dir)
    if not interim_dir.is_dir():
        raise InputError(f"{interim_dir}: interim folder not found; expected the canonical parquet tables of the ingest stage")
    t0 = time.perf_counter()
    con = connect(compute["backend"], compute["threads"], compute["memory_limit"])
    tables = read_tables(con, interim_dir)
    table = features_from_params(con, tables, feats)
    if table.empty:
        raise InputError(f"{interim_dir / 'transactions.parquet'}: no transaction lines; expected at least one purchase")
    log.info(
        "features: %d households x %d features on %s in %.2f s",
        len(table), len(FEATURES), compute["backend"], time.perf_counter() - t0,
    )
    io.write_csv(table, args.out)
    io.write_csv(
        feature_dictionary(feats["quantity_exclude_departments"], feats["quantity_exclude_sub_commodities"]),
        args.dictionary,
    )


def build_parser():
    ap = cli.parser(__doc__.splitlines()[0])
    ap.add_argument("--interim-dir", required=True, help="folder with the canonical parquet tables")
    ap.add_argument("--out", required=True, help="customer feature table (CSV)")
    ap.add_argument("--dictionary", required=True, help="feature dictionary (CSV)")
    return ap


if __name__ == "__main__":
    cli.main(run, build_parser())
