"""Streaming CSV reading with errors that name the file, the column and what was expected."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.csv as pacsv

from segtarget.core.errors import InputError

_TYPE_WORDS = {
    pa.int64(): "whole numbers",
    pa.float64(): "numbers",
    pa.string(): "text",
}
BLOCK_SIZE = 64 << 20


def header(path: Path) -> list[str]:
    """The column names of a CSV file (first line), stripped of quotes and spaces."""
    with open(path, "r", encoding="utf-8", errors="replace") as fh:
        first = fh.readline()
    if not first.strip():
        raise InputError(f"{path}: file is empty; expected a header row")
    return [c.strip().strip('"') for c in first.rstrip("\r\n").split(",")]


def require_columns(path: Path, found: list[str], required: list[str]) -> None:
    missing = [c for c in required if c not in found]
    if missing:
        raise InputError(
            f"{path}: missing column {missing[0]}; expected columns {', '.join(required)} "
            f"(found {', '.join(found)})"
        )


def stream(path: Path, types: dict[str, pa.DataType], optional: tuple[str, ...] = ()) -> Iterator[pa.RecordBatch]:
    """Yield record batches of the typed columns of ``path``.

    Every column in ``types`` that is not in ``optional`` must exist. A value that does not
    parse as its declared type stops the read with the file, column and offending value.
    """
    found = header(path)
    require_columns(path, found, [c for c in types if c not in optional])
    cols = [c for c in types if c in found]
    convert = pacsv.ConvertOptions(
        column_types={c: types[c] for c in cols},
        include_columns=cols,
        strings_can_be_null=True,
        null_values=["", " ", "NA", "NaN"],
    )
    try:
        reader = pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=BLOCK_SIZE), convert_options=convert)
        for batch in reader:
            yield batch
    except pa.ArrowInvalid as exc:
        raise InputError(_explain(path, found, types, str(exc))) from exc


def _explain(path: Path, found: list[str], types: dict[str, pa.DataType], msg: str) -> str:
    m = re.search(r"column #(\d+)", msg)
    v = re.search(r"invalid value '([^']*)'", msg)
    if m:
        col = found[int(m.group(1))] if int(m.group(1)) < len(found) else f"#{m.group(1)}"
        want = _TYPE_WORDS.get(types.get(col), str(types.get(col)))
        bad = f", found {v.group(1)!r}" if v else ""
        return f"{path}: column {col}: expected {want}{bad}"
    return f"{path}: could not be read as CSV ({' '.join(msg.split())[:200]})"
