"""Reading user CSV files, and one-line errors that say what to fix.

Why this module exists: the header is read and matched by hand (names in any case and order,
extra columns ignored, a UTF-8 byte-order mark skipped), then pyarrow's streaming reader parses
the typed columns block by block on a background thread while the caller writes the previous
block. Measured on this project's 2-core machine at 10x the original data (1.47 GB, 25.8M
lines), that reads and writes the transactions with 15 CPU-seconds; DuckDB's parallel
``read_csv`` handing Arrow batches over costs 20 to 26 and takes longer on a busy machine.
When a read fails, DuckDB reads the file again (only then) to count the bad lines and name the
first: its rejects table records lines that are not UTF-8 or have the wrong number of fields,
and typed casts over a text read find values that are not numbers.
"""

from __future__ import annotations

import csv
import queue
import re
import threading
from pathlib import Path
from typing import Iterator

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv

from segtarget.core.errors import InputError
from segtarget.core.progress import tracked

#: Text read as a missing value (as the original release writes blanks).
NULLS = ["", " ", "NA", "NaN"]
UTF8_FIX = "save the file as UTF-8 (e.g. Save As > CSV UTF-8) and rerun"
#: At most this many bad lines are recorded when a read is diagnosed (the count says "at least").
REJECTS_LIMIT = 100_000
#: Bytes per parsed block: larger blocks cost memory (about 2 GB at 64 MB) and no speed.
BLOCK_BYTES = 4 << 20
_SCANS = [0]


def check_file(path: Path, what: str) -> None:
    """Stop on a path that is not a non-empty file (a folder, a zero-byte file)."""
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a file; expected {what}")
    if not path.exists():
        raise InputError(f"{path}: file not found; expected {what}")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: file is empty (0 bytes); expected a header line and data lines ({what})")


def header(path: Path) -> list[str]:
    """The column names of a CSV file's first line (quotes, spaces and a UTF-8 BOM removed)."""
    with open(path, "rb") as fh:
        first = fh.readline()
    if first.startswith(b"\xef\xbb\xbf"):
        first = first[3:]
    try:
        text = first.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: line 1 (the header) is not UTF-8 text (byte {first[exc.start:exc.start + 1]!r}); "
                         f"{UTF8_FIX}") from exc
    names = [n.strip().strip('"').strip() for n in next(csv.reader([text.rstrip("\r\n")]), [])]
    if not any(names):
        raise InputError(f"{path}: line 1 is empty; expected a header line naming the columns")
    return names


def match(path: Path, found: list[str], wanted: list[str], optional: tuple[str, ...] = ()) -> dict[str, int]:
    """Position of each wanted column in ``found``, ignoring case; absent optional ones are left out."""
    index: dict[str, int] = {}
    upper = {w.upper() for w in wanted}
    for i, name in enumerate(found):
        key = name.upper()
        if key in index and key in upper:
            raise InputError(f"{path}: column {name} appears twice in the header (columns {index[key] + 1} and "
                             f"{i + 1}); keep one")
        index.setdefault(key, i)
    missing = [w for w in wanted if w.upper() not in index and w not in optional]
    if missing:
        raise InputError(f"{path}: missing column {missing[0]}; expected columns {', '.join(wanted)} "
                         f"(found {', '.join(found)})")
    return {w: index[w.upper()] for w in wanted if w.upper() in index}


def stream(path: Path, n_cols: int, types: dict[int, pa.DataType]) -> Iterator[pa.RecordBatch]:
    """Record batches of the typed columns ``types`` (position -> type; named ``c<position>``),
    parsed on a background thread one block ahead. A parse error is raised here."""
    names = [f"c{i}" for i in range(n_cols)]
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=BLOCK_BYTES),
        convert_options=pacsv.ConvertOptions(
            column_types={f"c{i}": t for i, t in types.items()}, include_columns=[f"c{i}" for i in sorted(types)],
            null_values=NULLS, strings_can_be_null=True, quoted_strings_can_be_null=True),
    )
    ahead: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()

    def produce():
        try:
            for batch in reader:
                while not stop.is_set():
                    try:
                        ahead.put(batch, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            ahead.put(None)
        except Exception as exc:  # noqa: BLE001 - handed to the consumer, which raises it
            ahead.put(exc)

    def consume():
        while (item := ahead.get()) is not None:
            if isinstance(item, Exception):
                raise item
            yield item

    worker = threading.Thread(target=produce, daemon=True)
    worker.start()
    # The block count is estimated from the file size (pyarrow cuts blocks of about BLOCK_BYTES),
    # enough for a progress line with a time estimate on the large files.
    blocks = max(1, -(-path.stat().st_size // BLOCK_BYTES))
    try:
        yield from tracked(consume(), blocks, f"ingest: reading {path.name} (~{blocks} blocks of {BLOCK_BYTES >> 20} MB)")
    finally:
        stop.set()
        worker.join()


def line_of_row(path: Path, row: int) -> tuple[int, bytes]:
    """The line number (header = line 1) and text of data row ``row`` (0-based), skipping
    blank lines as the readers do. Whole 16 MB blocks are skipped by counting newlines, so
    finding a line near the end of 25M lines takes about a second."""
    seen, number = -1, 1
    blank = re.compile(rb"\n(?=\r?\n)")
    with open(path, "rb") as fh:
        fh.readline()
        while block := fh.read(BLOCK_BYTES):
            if not block.endswith(b"\n"):
                block += fh.readline()
            lines = block.count(b"\n") + (not block.endswith(b"\n"))
            empty = len(blank.findall(block)) + (block[:1] == b"\n" or block[:2] == b"\r\n")
            if seen + lines - empty < row:
                seen, number = seen + lines - empty, number + lines
                continue
            for text in block.split(b"\n"):
                number += 1
                if text.rstrip(b"\r"):
                    seen += 1
                    if seen == row:
                        return number, text.rstrip(b"\r")
    return row + 2, b""


def raw_field(text: bytes, index: int | None):
    """Field ``index`` of a CSV line as the file writes it (for error messages)."""
    if index is None:
        return None
    fields = next(csv.reader([text.decode("utf-8", errors="replace")]), [])
    return fields[index] if index < len(fields) else None


def _read_sql(path: Path, n_cols: int, rejects: str = "") -> str:
    cols = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(n_cols))
    nulls = ", ".join("'" + n + "'" for n in NULLS)
    quoted = str(path).replace("'", "''")
    return (f"read_csv('{quoted}', header = true, auto_detect = false, delim = ',', quote = '\"', escape = '\"', "
            f"columns = {{{cols}}}, nullstr = [{nulls}]{rejects})")


def _structural(con: duckdb.DuckDBPyConnection, path: Path, n_cols: int) -> str | None:
    """Count lines that are not valid UTF-8 or have the wrong number of fields (one thread,
    so the first recorded bad line is the first in the file)."""
    _SCANS[0] += 1
    table, scan = f"rejects_{_SCANS[0]}", f"rejects_scan_{_SCANS[0]}"
    relation = _read_sql(path, n_cols, f", store_rejects = true, rejects_table = '{table}', "
                                       f"rejects_scan = '{scan}', rejects_limit = {REJECTS_LIMIT}")
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    con.execute("SET threads = 1")
    try:
        every = ", ".join(f"count(c{i})" for i in range(n_cols))  # read every column: an unread one is not checked
        con.execute(f"SELECT {every} FROM {relation}").fetchall()
        first = con.execute(f"SELECT error_type, line, csv_line FROM {table} ORDER BY line LIMIT 1").fetchall()
        counts = dict(con.execute(f"SELECT error_type, count(*) FROM {table} GROUP BY 1").fetchall())
    except duckdb.Error as exc:
        return f"{path}: could not be read as CSV ({' '.join(str(exc).split())[:160]})"
    finally:
        con.execute(f"SET threads = {threads}")
    if not first:
        return None
    kind, line, text = first[0]
    n = counts[kind]
    many = "at least " if sum(counts.values()) >= REJECTS_LIMIT else ""
    if "ENCODING" in kind or "UNICODE" in kind:
        lines = "line is" if n == 1 else "lines are"
        return (f"{path}: {many}{n:,} {lines} not UTF-8 text (first at line {line}: {text!r}); the file is in "
                f"another encoding (Latin-1 or Windows-1252?): {UTF8_FIX}")
    if kind in ("MISSING COLUMNS", "TOO MANY COLUMNS"):
        fewer = "fewer" if kind == "MISSING COLUMNS" else "more"
        have = "line has" if n == 1 else "lines have"
        return (f"{path}: {many}{n:,} {have} {fewer} fields than the header's {n_cols} (first at line {line}: "
                f"{text!r}); fix those lines (a comma inside a value needs quotes)")
    return f"{path}: {many}{n:,} lines could not be read ({kind.lower()}, first at line {line}: {text!r}); fix those lines"


def _not_a(kind: pa.DataType, col: str) -> str:
    """SQL: text that the typed reader rejects (pyarrow reads 0x1F and ' 5' as integers,
    but neither '+5' nor '1.0'; DuckDB's cast to DOUBLE accepts what pyarrow's does)."""
    value = f"trim({col})"
    if kind == pa.int64():
        whole = f"(regexp_full_match({value}, '-?[0-9]+') AND TRY_CAST({value} AS BIGINT) IS NOT NULL)"
        return f"{col} IS NOT NULL AND NOT {whole} AND NOT regexp_full_match({value}, '-?0[xX][0-9a-fA-F]+')"
    return f"{col} IS NOT NULL AND TRY_CAST({value} AS DOUBLE) IS NULL"


def diagnose(con: duckdb.DuckDBPyConnection, path: Path, found: list[str], types: dict[int, pa.DataType],
             exc: Exception) -> InputError:
    """The one-line error for a failed typed read of ``path``: structure and encoding first,
    then the first column holding values that are not of its type (counted, first line)."""
    message = _structural(con, path, len(found))
    if message:
        return InputError(message)
    relation = _read_sql(path, len(found))
    checks = {i: _not_a(t, f"c{i}") for i, t in sorted(types.items()) if t != pa.string()}
    if checks:
        counts = con.execute("SELECT " + ", ".join(f"count(*) FILTER (WHERE {c})" for c in checks.values())
                             + f" FROM {relation}").fetchone()
        for (i, cond), n in zip(checks.items(), counts):
            if n:
                row = first_row(con, relation, cond)
                line, text = line_of_row(path, row) if row is not None else ("?", b"")
                whole = types[i] == pa.int64()
                what = ("value that is not a whole number" if n == 1 else "values that are not whole numbers") if whole \
                    else ("value that is not a number" if n == 1 else "values that are not numbers")
                return InputError(f"{path}: column {found[i]} has {n:,} {what} (first at line {line}: "
                                  f"{raw_field(text, i)!r}); expected {'whole numbers' if whole else 'numbers'}; "
                                  "fix those lines")
    first = " ".join(str(exc).split())[:200]
    return InputError(f"{path}: could not be read as CSV ({first})")


def first_row(con: duckdb.DuckDBPyConnection, relation: str, flag: str) -> int | None:
    """Position (0-based, in file order) of the first row of ``relation`` where ``flag``
    holds; the rows stream in order (DuckDB preserves insertion order)."""
    reader = con.execute(f"SELECT coalesce({flag}, false) AS f FROM {relation}").to_arrow_reader(1 << 17)
    offset = 0
    for batch in reader:
        hits = batch.column(0).to_numpy(zero_copy_only=False).nonzero()[0]
        if len(hits):
            return offset + int(hits[0])
        offset += batch.num_rows
    return None
