"""The ingest stage: any source -> validated canonical parquet tables + a data summary.

Tables stream chunk by chunk: each chunk is validated against its pandera schema
(:mod:`segtarget.data.schemas`) and appended to a temporary parquet file. Only when every table
has been read and validated are the files renamed into place, so bad input leaves the
interim folder exactly as it was.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from segtarget.core import paths
from segtarget.data import schemas as S
from segtarget.core.errors import InputError, ParamError
from segtarget.core.io import write_csv
from segtarget.data.sources import TableSource, completejourney, dunnhumby

log = logging.getLogger(__name__)

_ARROW = {"int64": pa.int64(), "float64": pa.float64()}


def arrow_schema(table: str) -> pa.Schema:
    """The parquet schema of a canonical table, derived from its pandera schema."""
    cols = S.SCHEMAS[table].columns
    return pa.schema([(name, _ARROW.get(str(col.dtype), pa.string())) for name, col in cols.items()])


def open_sources(data: dict, synthetic_dir: str | Path = paths.SYNTHETIC_DIR) -> dict[str, TableSource]:
    """The table sources for ``data.source``."""
    source = data["source"]
    if source == "completejourney":
        return completejourney.read(data)
    if source == "dunnhumby":
        return dunnhumby.read(data["dunnhumby_dir"])
    if source == "synthetic":
        folder = Path(synthetic_dir)
        if not (folder / dunnhumby.FILES["transactions"]).exists():
            raise InputError(f"{folder}: no synthetic data found; run the `synthetic` stage first "
                             "(snakemake or dvc repro do it when data.source is synthetic)")
        return dunnhumby.read(folder)
    raise ParamError(f"params.yaml: data.source = {source!r} is invalid; expected one of completejourney, dunnhumby, synthetic")


class _Stats:
    """Running row count, household set and day range of one table."""

    def __init__(self):
        self.rows = 0
        self.households: set[int] = set()
        self.first_day = None
        self.last_day = None

    def add(self, df: pd.DataFrame) -> None:
        self.rows += len(df)
        if S.HOUSEHOLD in df and len(df):
            self.households.update(np.unique(df[S.HOUSEHOLD].to_numpy()).tolist())
        for lo, hi in ((S.DAY, S.DAY), ("start_day", "end_day")):
            if lo in df and len(df):
                a, b = int(df[lo].min()), int(df[hi].max())
                self.first_day = a if self.first_day is None else min(self.first_day, a)
                self.last_day = b if self.last_day is None else max(self.last_day, b)


def _write_table(table: str, src: TableSource, tmp: Path) -> _Stats:
    stats = _Stats()
    schema = arrow_schema(table)
    with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        wrote = False
        for chunk in src.chunks():
            chunk = S.check(chunk[S.COLUMNS[table]], table, src.origin)
            writer.write_table(pa.Table.from_pandas(chunk, schema=schema, preserve_index=False))
            stats.add(chunk)
            wrote = True
        if not wrote:
            writer.write_table(schema.empty_table())
    return stats


@contextlib.contextmanager
def _staged(finals: list[Path]):
    """Temporary paths for ``finals``; all renamed into place together, or all removed."""
    temps = [f.with_name(f".{f.name}.partial") for f in finals]
    for f in finals:
        f.parent.mkdir(parents=True, exist_ok=True)
    try:
        yield temps
        for t, f in zip(temps, finals):
            os.replace(t, f)
    finally:
        for t in temps:
            if t.exists():
                t.unlink()


def ingest(data: dict, out_dir: str | Path, summary_path: str | Path,
           synthetic_dir: str | Path = paths.SYNTHETIC_DIR) -> pd.DataFrame:
    """Read ``data.source``, validate, and write every canonical table plus the summary.

    Returns the data summary (table, rows, households, first_day, last_day, notes).
    """
    sources = open_sources(data, synthetic_dir)
    finals = [paths.interim(t, Path(out_dir)) for t in paths.CANONICAL_TABLES]
    rows = []
    with _staged(finals) as temps:
        for table, tmp in zip(paths.CANONICAL_TABLES, temps):
            src = sources[table]
            log.info("ingest %s from %s", table, src.origin)
            stats = _write_table(table, src, tmp)
            if table == "transactions" and stats.rows == 0:
                raise InputError(f"{src.origin}: no transaction lines; expected at least one purchase")
            for note in src.notes:
                log.warning("%s: %s", table, note)
            rows.append(
                {
                    "table": table,
                    "rows": stats.rows,
                    "households": len(stats.households) if table in _HOUSEHOLD_TABLES else None,
                    "first_day": stats.first_day,
                    "last_day": stats.last_day,
                    "source": data["source"],
                    "notes": "; ".join(src.notes),
                }
            )
        summary = pd.DataFrame(rows)
        summary["households"] = summary["households"].astype("Int64")
        summary["first_day"] = summary["first_day"].astype("Int64")
        summary["last_day"] = summary["last_day"].astype("Int64")
        write_csv(summary, summary_path)
    return summary


_HOUSEHOLD_TABLES = {t for t, cols in S.COLUMNS.items() if S.HOUSEHOLD in cols}
