"""The ingest stage: any source -> validated canonical parquet tables + a data summary.

Why it is built this way: at 10x the original data (25.8M transaction lines) reading the CSV
is the only work that has to scale, so each table streams from its source to parquet in one
pass, as Arrow batches, never through pandas (:mod:`segtarget.data.sources`). The value rules
of the pandera schemas (:func:`segtarget.data.schemas.rules`) are SQL predicates: the parquet
statistics of the written file settle most of them (a minimum, a null count), DuckDB counts
the rest with one query over the file, and only when a rule fails is the offending line
looked up, so the one-line error can count the offending values and name the first line.
Files are written under temporary names and renamed into place only when every table passed,
so bad input leaves the interim folder exactly as it was.

What is worth knowing but not wrong (lines with quantity or sales 0, lines repeated exactly,
households known to a campaign or the demographics but absent from the transactions) becomes
a ``warning:<table>:<check>`` row of the data summary (:mod:`segtarget.data.sources.quality`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from segtarget.core import paths
from segtarget.core.errors import InputError, ParamError
from segtarget.core.io import write_csv
from segtarget.data import schemas as S
from segtarget.data.sources import TableSource, completejourney, dunnhumby
from segtarget.data.sources import quality as Q
from segtarget.data.sources.csvread import diagnose
from segtarget.data.sources.quality import first_at, parquet
from segtarget.data.sources.writer import ColumnStats, Written, column_stats, write_table

log = logging.getLogger(__name__)

#: DuckDB's memory for the checks (they stream; this bounds buffers, not data size).
MEMORY_LIMIT = "1GB"
SUMMARY_COLUMNS = ["table", "rows", "households", "first_day", "last_day", "source", "notes"]


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


def connect(spill_dir: str | Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that keeps row order and spills to ``spill_dir``."""
    con = duckdb.connect(config={"preserve_insertion_order": True, "memory_limit": MEMORY_LIMIT,
                                 "temp_directory": str(spill_dir)})
    con.execute("SET enable_progress_bar = false")
    return con


def _rule_error(con, src: TableSource, table: str, rule: S.Rule, n: int, tmp: Path, written: Written) -> InputError:
    """The one-line error of a failed rule: count, first offending line (or row) and value."""
    col = rule.column
    if rule.unique:
        row = con.execute(f"SELECT min(rn) FROM (SELECT file_row_number AS rn, row_number() OVER "
                          f"(PARTITION BY {col} ORDER BY file_row_number) AS k FROM {parquet(tmp)} "
                          f"WHERE {col} IS NOT NULL) WHERE k > 1").fetchone()[0]
    else:
        row = con.execute(f"SELECT min(file_row_number) FROM {parquet(tmp)} WHERE {rule.bad}").fetchone()[0]
    where, value = first_at(con, src, tmp, written, row, col)
    if rule.stat == "nulls" or value is None:
        shown = ""
    else:
        shown = f": {value!r}" if S.sql_type(table, col) == "VARCHAR" else f": {value}"
    what = rule.what.replace("values", "value", 1) if n == 1 else rule.what
    return InputError(f"{src.origin}: column {src.where(col)} has {n:,} {what} (first at {where}{shown}); "
                      f"expected {rule.expected}; fix or remove those lines")


def _undecided(rule: S.Rule, stats: dict[str, ColumnStats]) -> bool:
    """Whether ``rule`` needs the data read: the file's statistics do not settle it."""
    st = stats.get(rule.column)
    if rule.stat == "nulls" and st is not None:
        return st.nulls is None or st.nulls > 0
    if rule.stat == "min" and st is not None:
        return not st.ranged or (st.low is not None and st.low < rule.bound)
    return True


def inspect(con, src: TableSource, table: str, tmp: Path, written: Written) -> dict:
    """Decide every rule (statistics first, then one query over the written file for the
    rest), raise on the first that fails, and return the summary statistics (households,
    first_day, last_day) and, for the transactions, what the zero-value warnings need."""
    stats = column_stats(tmp)
    rules = [r for r in S.rules(table) if written.rows and _undecided(r, stats)]
    aggs = {f"rule{i}": f"count({r.column}) - count(DISTINCT {r.column})" if r.unique
            else f"count(*) FILTER (WHERE {r.bad})" for i, r in enumerate(rules)}
    cols = S.COLUMNS[table]
    if S.HOUSEHOLD in cols:
        aggs["households"] = f"count(DISTINCT {S.HOUSEHOLD})"
    days = (S.DAY, S.DAY) if S.DAY in cols else ("start_day", "end_day") if "start_day" in cols else None
    if days and not (stats[days[0]].ranged and stats[days[1]].ranged):
        aggs.update(first_day=f"min({days[0]})", last_day=f"max({days[1]})")
    if table == "transactions":
        aggs.update(Q.zero_aggs(stats))
    found = dict.fromkeys(("households", "first_day", "last_day"))
    if aggs:
        found.update(zip(aggs, con.execute(f"SELECT {', '.join(aggs.values())} FROM {parquet(tmp)}").fetchone()))
    for i, rule in enumerate(rules):
        if found[f"rule{i}"]:
            raise _rule_error(con, src, table, rule, found[f"rule{i}"], tmp, written)
    if days and "first_day" not in aggs:
        found.update(first_day=stats[days[0]].low, last_day=stats[days[1]].high)
    return found


def _ingest_table(con, src: TableSource, table: str, tmp: Path, source: str) -> tuple[dict, list[dict], Written]:
    """Write one table and check it; its summary row, its warnings and what was written."""
    log.info("ingest %s from %s", table, src.origin)
    try:
        written = write_table(src.batches(con), tmp, S.arrow_schema(table), hashed=table == "transactions")
    except (pa.ArrowInvalid, duckdb.Error) as exc:
        if src.path is None:
            raise InputError(f"{src.origin}: could not be read ({' '.join(str(exc).split())[:200]})") from exc
        raise diagnose(con, src.path, src.csv["found"], src.csv["types"], exc) from None
    found = inspect(con, src, table, tmp, written)
    if written.dropped:
        src.notes.append(src.drop_note.format(n=written.dropped))
    if written.rows == 0 and table == "transactions":
        raise InputError(f"{src.origin}: no transaction lines; expected at least one purchase")
    if written.rows == 0 and src.required:
        raise InputError(f"{src.origin}: no data lines (only a header); expected at least one row of {table}")
    for note in src.notes:
        log.warning("%s: %s", table, note)
    row = {"table": table, "rows": written.rows, "households": found["households"], "first_day": found["first_day"],
           "last_day": found["last_day"], "source": source, "notes": "; ".join(src.notes)}
    warnings = Q.zero_warnings(con, src, tmp, written, found) if table == "transactions" else []
    return row, warnings, written


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


@contextlib.contextmanager
def _spill():
    """A private folder in the system's temp area for DuckDB's spill files (never the
    project folder, which DuckDB would use by default), removed afterwards."""
    path = tempfile.mkdtemp(prefix="segtarget-ingest-")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def ingest(data: dict, out_dir: str | Path, summary_path: str | Path,
           synthetic_dir: str | Path = paths.SYNTHETIC_DIR) -> pd.DataFrame:
    """Read ``data.source``, validate, and write every canonical table plus the summary.

    Returns the data summary: one row per table (table, rows, households, first_day,
    last_day, source, notes), then one ``warning:<table>:<check>`` row per warning.
    """
    sources = open_sources(data, synthetic_dir)
    finals = [paths.interim(t, Path(out_dir)) for t in paths.CANONICAL_TABLES]
    rows, warnings, written = [], [], {}
    with _staged(finals) as temps, _spill() as spill, connect(spill) as con:
        tmp = dict(zip(paths.CANONICAL_TABLES, temps))
        for table in paths.CANONICAL_TABLES:
            row, found, written[table] = _ingest_table(con, sources[table], table, tmp[table], data["source"])
            rows.append(row)
            warnings += found
        tx = sources["transactions"]
        hashes = written["transactions"].hash_array()
        written["transactions"].hashes.clear()
        n_dup, repeated = Q.duplicates(hashes)
        del hashes
        if n_dup and data.get("drop_duplicate_lines", False):
            warnings.append(Q.drop_duplicates(con, tx, tmp["transactions"], repeated))
            kept = warnings[-1].pop("kept")
            found = inspect(con, tx, "transactions", tmp["transactions"], Written(rows=kept))
            rows[0].update(rows=kept, households=found["households"], first_day=found["first_day"],
                           last_day=found["last_day"])
        elif n_dup:
            warnings.append(Q.duplicates_row(n_dup, tx))
        warnings += Q.household_warnings(con, sources, tmp, written)
        for w in warnings:
            log.warning("%s: %s", w["table"], w["notes"])
        summary = pd.DataFrame(rows + [{**w, "source": data["source"]} for w in warnings], columns=SUMMARY_COLUMNS)
        for col in ("rows", "households", "first_day", "last_day"):
            summary[col] = summary[col].astype("Int64")
        write_csv(summary, summary_path)
    return summary
