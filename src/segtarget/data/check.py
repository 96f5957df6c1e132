"""Check a data folder before running anything: the ingest stage's own validation, with nothing kept.

``make check-data`` (``scripts/check_data.py``) answers "will my folder go through?" in one
readable report, without touching the project's ``data/interim`` or ``results``: it runs the ingest
stage's reading and validation (:func:`segtarget.data.ingest.ingest`: the same checks, counts and
messages as a real run) into a temporary folder that is removed afterwards, then prints, per input
file, its size and line count, and per canonical table its rows, households and day range, followed
by every problem (the first one the validation stops at: its file, column, first offending row, count
and fix) and every counted warning (duplicated lines, zero quantities, households only in the campaign
tables, ...). For ``canonical`` folders (parquet tables as the ingest stage writes them, e.g. a copy of
``data/interim``) it checks that each table exists, is readable and has its columns.

Exit status 0 when the folder would ingest (warnings allowed), 1 when it would not.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from segtarget.core import paths
from segtarget.core.errors import InputError, SegtargetError
from segtarget.data import schemas as S

SOURCES = ("dunnhumby", "canonical")


@dataclass
class Report:
    """What :func:`check_folder` found: per-file facts, the summary of the tables and the problems."""

    source: str
    folder: Path
    files: pd.DataFrame
    tables: pd.DataFrame | None = None
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        lines = [f"data check: {self.source} folder {self.folder}", "", "files:"]
        lines += ["  " + line for line in self.files.to_string(index=False).splitlines()] if len(self.files) else ["  (none)"]
        if self.tables is not None and len(self.tables):
            lines += ["", "tables (as they would be ingested):"]
            shown = self.tables.astype(object).where(self.tables.notna(), "")
            lines += ["  " + line for line in shown.to_string(index=False).splitlines()]
        lines += ["", f"problems: {len(self.problems)}"] + [f"  - {p}" for p in self.problems]
        lines += [f"warnings: {len(self.warnings)}"] + [f"  - {w}" for w in self.warnings]
        lines += ["", "result: " + ("OK, the folder would ingest" if self.ok else "NOT OK, fix the problems above")]
        return "\n".join(lines)


def _line_count(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))


def _files(folder: Path, pattern: str) -> pd.DataFrame:
    rows = []
    for p in sorted(folder.glob(pattern)):
        if p.is_file():
            rows.append({"file": p.name, "bytes": p.stat().st_size,
                         "lines": _line_count(p) if p.suffix.lower() == ".csv" else pd.NA})
    return pd.DataFrame(rows, columns=["file", "bytes", "lines"])


def _check_dunnhumby(folder: Path) -> Report:
    from segtarget.data.ingest import ingest

    rep = Report("dunnhumby", folder, _files(folder, "*.csv") if folder.is_dir() else _files(folder.parent, "none"))
    with tempfile.TemporaryDirectory(prefix="segtarget-check-") as tmp:
        try:
            summary = ingest({"source": "dunnhumby", "dunnhumby_dir": str(folder)}, Path(tmp) / "interim",
                             Path(tmp) / "data_summary.csv")
        except SegtargetError as exc:
            rep.problems.append(" ".join(str(exc).split()))
            return rep
    is_warning = summary["table"].astype(str).str.startswith("warning:")
    rep.tables = summary.loc[~is_warning, [c for c in ("table", "rows", "households", "first_day", "last_day")
                                           if c in summary.columns]].reset_index(drop=True)
    for _, w in summary.loc[is_warning].iterrows():
        note = w.get("notes", "")
        rep.warnings.append(f"{w['table'].removeprefix('warning:')}: {note}")
    return rep


def _check_canonical(folder: Path) -> Report:
    import duckdb

    rep = Report("canonical", folder, _files(folder, "*.parquet") if folder.is_dir() else _files(folder.parent, "none"))
    rows = []
    con = duckdb.connect()
    for table in paths.CANONICAL_TABLES:
        p = paths.interim(table, folder)
        if not p.is_file():
            rep.problems.append(f"{p}: canonical table {table} not found; expected the parquet file the ingest stage writes")
            continue
        try:
            rel = con.read_parquet(str(p))
            cols, n = list(rel.columns), int(rel.aggregate("count(*)").fetchone()[0])
        except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file
            rep.problems.append(f"{p}: cannot read as parquet ({' '.join(str(exc).split()).split(' LINE ')[0][:160]})")
            continue
        missing = [c for c in S.COLUMNS[table] if c not in cols]
        if missing:
            rep.problems.append(f"{p}: column {missing[0]} missing ({len(missing)} in all); expected "
                                f"{', '.join(S.COLUMNS[table])}")
        rows.append({"table": table, "rows": n})
    rep.tables = pd.DataFrame(rows, columns=["table", "rows"])
    return rep


def check_folder(source: str, folder: str | Path) -> Report:
    """Check ``folder`` as a ``dunnhumby`` CSV folder or a ``canonical`` parquet folder (module docstring)."""
    if source not in SOURCES:
        raise InputError(f"--source {source!r} is invalid; expected one of {', '.join(SOURCES)}")
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: folder not found; expected the folder holding the {source} files")
    return _check_dunnhumby(folder) if source == "dunnhumby" else _check_canonical(folder)
