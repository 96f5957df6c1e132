"""Warnings about legal but surprising input: counted, kept, and reported in the data summary.

Why this module exists: a line with quantity 0, a line repeated exactly, or a household that
a campaign targeted but that never bought anything is not an error (the real data have all
three), but a user should see how many there are before trusting the results. Each becomes a
row of ``data_summary.csv`` whose ``table`` is ``warning:<table>:<check>``, ``rows`` the
offending rows, ``households`` the households concerned (for the household checks) and
``notes`` one sentence saying what was found, where first, and what was done. The checks run
on the canonical parquet files the ingest stage has just written (and on the row hashes
taken while writing them).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa

from segtarget.data import schemas as S
from segtarget.data.sources import TableSource
from segtarget.data.sources.csvread import line_of_row, raw_field
from segtarget.data.sources.writer import Written, row_hashes, write_table

TX_COLUMNS = ", ".join(S.COLUMNS["transactions"])
#: Transaction columns whose 0 is worth a warning, and what happens to such lines.
ZERO_CHECKS = {
    "quantity": "kept (they count as lines and baskets but add no items)",
    "sales_value": "kept (free or fully discounted items; they add no sales)",
}
#: What "the same line" means: every canonical column (the file's other columns, such as
#: TRANS_TIME, are not read).
SAME = "same household, basket, day, week, product, store, quantity and amounts"
#: Tables whose households should all appear in the transactions.
HOUSEHOLD_CHECKS = {
    "campaign_members": "targeted by a campaign but never in the transactions",
    "households": "with demographics but never in the transactions",
    "coupon_redemptions": "redeeming a coupon but never in the transactions",
}


def parquet(path: Path) -> str:
    """A DuckDB FROM item for a written table, with each row's position as ``file_row_number``."""
    return "read_parquet('" + str(path).replace("'", "''") + "', file_row_number = true)"


def first_at(con, src: TableSource, tmp: Path, written: Written, row: int, column: str | None = None) -> tuple[str, object]:
    """Where written row ``row`` is for the user ("line N" of the file, else "row N") and
    the value of ``column`` there, as the file writes it."""
    value = None
    if column is not None:
        value = con.execute(f"SELECT {column} FROM {parquet(tmp)} WHERE file_row_number = {int(row)}").fetchone()[0]
    if src.path is None:
        return f"row {row + 1:,}", value
    line, text = line_of_row(src.path, written.source_row(row))
    raw = raw_field(text, src.raw_index.get(column)) if column is not None else None
    return f"line {line:,}", value if raw is None else raw


def _name(src: TableSource) -> str:
    return Path(src.origin).name if src.path is not None else src.origin


def zero_aggs(stats: dict) -> dict[str, str]:
    """Aggregates over the written transactions counting the lines whose quantity or sales
    value is 0 and finding the first; only for columns whose minimum (in the file's
    statistics) is not above 0."""
    out = {}
    for col in ZERO_CHECKS:
        st = stats[col]
        if st.ranged and st.low is not None and st.low > 0:
            continue
        out[f"zero_{col}"] = f"count(*) FILTER (WHERE {col} = 0)"
        out[f"zero_{col}_row"] = f"min(file_row_number) FILTER (WHERE {col} = 0)"
    return out


def zero_warnings(con, src: TableSource, tmp: Path, written: Written, found: dict) -> list[dict]:
    """The warning rows for lines whose quantity or sales value is 0 (from :func:`zero_aggs`)."""
    out = []
    for col, done in ZERO_CHECKS.items():
        n = found.get(f"zero_{col}") or 0
        if n:
            where, _ = first_at(con, src, tmp, written, found[f"zero_{col}_row"])
            out.append({"table": f"warning:transactions:zero_{col}", "rows": n,
                        "notes": f"{_n(n, 'line')} of {_name(src)} with {src.where(col)} 0 (first at {where}); {done}"})
    return out


def _n(n: int, noun: str) -> str:
    """``1 line``, ``2,000 lines``."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def duplicates(hashes: np.ndarray) -> tuple[int, np.ndarray]:
    """Lines that repeat an earlier line in every column: their count and the distinct hashes
    of the repeated lines (``hashes`` is sorted in place).

    Each line was reduced to a 64-bit hash while it was written; numpy sorts 25M hashes in
    under a second, where grouping 25M distinct lines takes DuckDB several seconds and about
    1.5 GB. Two different lines share a hash with a chance of about n^2 / 2^65 (1 in 50,000
    at 25M lines), so the count may in principle be one too high; dropping the lines
    (:func:`drop_duplicates`) compares the candidates column by column.
    """
    h = hashes
    h.sort()  # in place: the caller's array is not needed afterwards
    same = h[1:] == h[:-1]
    n = int(same.sum())
    return n, np.unique(h[1:][same])


def duplicates_row(n: int, src: TableSource) -> dict:
    """The warning row for repeated lines that are kept."""
    return {"table": "warning:transactions:duplicate_lines", "rows": n,
            "notes": f"{_n(n, 'line')} of {_name(src)} {'repeats' if n == 1 else 'repeat'} an earlier line exactly ({SAME}); kept "
                     "(set data.drop_duplicate_lines: true to drop them)"}


def drop_duplicates(con, src: TableSource, tmp: Path, hashes: np.ndarray) -> dict:
    """Rewrite the transactions without the lines that repeat an earlier line exactly (the
    first occurrence stays, the order is kept); the warning row saying how many went.

    Only lines whose hash repeats are compared, column by column, so the count is exact."""
    schema = S.arrow_schema("transactions")
    con.register("dup_hashes", pa.table({"h": hashes}))
    rows = f"(SELECT *, file_row_number AS rn FROM {parquet(tmp)})"
    candidates = con.execute(f"SELECT rn, {TX_COLUMNS} FROM {rows} ORDER BY rn").to_arrow_reader(1 << 20)
    repeats = []
    for batch in candidates:  # the candidate lines: those whose hash repeats
        keep = np.isin(row_hashes(batch.select(schema.names)), hashes)
        if keep.any():
            repeats.append(batch.filter(pa.array(keep)))
    con.register("candidates", pa.Table.from_batches(repeats) if repeats else
                 pa.table({"rn": pa.array([], pa.int64()), **{f.name: pa.array([], f.type) for f in schema}}))
    gone = con.execute(f"SELECT rn FROM (SELECT rn, row_number() OVER (PARTITION BY {TX_COLUMNS} ORDER BY rn) AS k "
                       "FROM candidates) WHERE k > 1 ORDER BY rn").to_arrow_table()
    con.register("gone", gone)
    out = tmp.with_name(tmp.name + ".dedup")
    try:
        kept = write_table(con.execute(f"SELECT {TX_COLUMNS} FROM {rows} WHERE rn NOT IN (SELECT rn FROM gone) "
                                       "ORDER BY rn").to_arrow_reader(1 << 20), out, schema).rows
        os.replace(out, tmp)
    finally:
        out.unlink(missing_ok=True)
        for view in ("dup_hashes", "candidates", "gone"):
            con.unregister(view)
    n = gone.num_rows
    return {"table": "warning:transactions:duplicate_lines", "rows": n, "kept": kept,
            "notes": f"dropped {_n(n, 'line')} of {_name(src)} that {'repeats' if n == 1 else 'repeat'} an earlier line exactly ({SAME}; "
                     "data.drop_duplicate_lines: true)"}


def household_warnings(con, sources: dict[str, TableSource], tmp: dict[str, Path],
                       written: dict[str, Written]) -> list[dict]:
    """Households of the campaign members, demographics and redemptions that have no
    transaction line."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE tx_households AS "
                f"SELECT DISTINCT {S.HOUSEHOLD} FROM {parquet(tmp['transactions'])}")
    out = []
    for table, what in HOUSEHOLD_CHECKS.items():
        n, households, row, first = con.execute(
            f"SELECT count(*), count(DISTINCT {S.HOUSEHOLD}), min(file_row_number), "
            f"arg_min({S.HOUSEHOLD}, file_row_number) FROM {parquet(tmp[table])} "
            f"WHERE {S.HOUSEHOLD} NOT IN (SELECT {S.HOUSEHOLD} FROM tx_households)").fetchone()
        if n:
            src = sources[table]
            where, _ = first_at(con, src, tmp[table], written[table], row)
            out.append({"table": f"warning:{table}:households_without_transactions", "rows": n,
                        "households": households,
                        "notes": f"{_n(households, 'household')} of {_name(src)} {what} ({_n(n, 'row')}; first at "
                                 f"{where}: household {first}); kept"})
    con.execute("DROP TABLE tx_households")
    return out
