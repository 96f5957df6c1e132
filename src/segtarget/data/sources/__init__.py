"""Source adapters: each turns one kind of raw data into the canonical tables.

An adapter is a function ``read(config) -> dict[table, TableSource]`` where a
:class:`TableSource` yields the table in pandas chunks (large tables stream, so memory stays
bounded) and carries notes for the data summary (dropped lines, absent optional files).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator

import pandas as pd


@dataclass
class TableSource:
    """A canonical table as a stream of chunks, plus what the user should know about it."""

    origin: str
    chunks: Callable[[], Iterator[pd.DataFrame]]
    notes: list[str] = field(default_factory=list)
