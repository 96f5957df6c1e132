"""Atomic, deterministic writers for every file a stage produces.

A stage writes each output to a temporary file in the destination folder and renames it
into place only when the write succeeded, so a failed or killed stage never leaves a
half-written file and the previous result stays intact. Floats are written with a fixed
format and JSON with sorted keys so that two runs give byte-identical files.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

FLOAT_FORMAT = "%.10g"


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_path(d / "a.txt") as tmp:
    ...     _ = tmp.write_text("hello")
    >>> (d / "a.txt").read_text()
    'hello'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=suffix or path.suffix or ".tmp", dir=path.parent
    )
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes files owner-only; outputs are ordinary files
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_csv(df: pd.DataFrame, path: str | os.PathLike, float_format: str = FLOAT_FORMAT) -> None:
    """Write a table as CSV (no index, fixed float format) atomically."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, float_format=float_format, lineterminator="\n")


def write_parquet(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write a table as parquet atomically (no pandas index)."""
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)


def _clean(obj):
    """Make numpy scalars JSON-serialisable and round floats to a stable precision."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        if math.isnan(x) or math.isinf(x):
            return None
        return float(f"{x:.10g}")
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def write_json(obj, path: str | os.PathLike) -> None:
    """Write JSON with sorted keys and 10 significant digits, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(_clean(obj), indent=2, sort_keys=True) + "\n")


def update_json(path: str | os.PathLike, key: str, block: dict) -> None:
    """Replace one top-level block of a JSON file (e.g. ``track1`` in metrics.json)."""
    path = Path(path)
    data = json.loads(path.read_text()) if path.exists() else {}
    data[key] = block
    write_json(data, path)


def save_figure(fig, path: str | os.PathLike, dpi: int = 120) -> None:
    """Save a matplotlib figure without timestamps or software metadata, atomically."""
    path = Path(path)
    fmt = path.suffix.lstrip(".") or "png"
    metadata = {"Software": None} if fmt == "png" else {"CreationDate": None, "Creator": None, "Producer": None}
    if fmt == "svg":
        metadata = {"Date": None, "Creator": None}
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=dpi, metadata=metadata, bbox_inches="tight")


def read_csv(path: str | os.PathLike, **kwargs) -> pd.DataFrame:
    """Read a results table; a missing, empty or unparsable file is a one-line input error."""
    from segtarget.core.errors import InputError

    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a folder; expected a CSV file there (remove the folder and rerun the stage that "
                         "writes the file)")
    if not path.is_file():
        raise InputError(f"{path}: file not found; run the stage that writes it first")
    try:
        return pd.read_csv(path, **kwargs)
    except pd.errors.EmptyDataError as exc:
        raise InputError(f"{path}: file is empty; expected a table with a header row") from exc
    except pd.errors.ParserError as exc:
        raise InputError(f"{path}: not a readable CSV ({' '.join(str(exc).split())})") from exc


@contextlib.contextmanager
def staged_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder next to ``path``; on success it replaces ``path`` whole.

    For stages that output a folder (figures): a failure leaves the old folder intact.
    """
    import shutil

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    old = path.with_name(f".{path.name}.old")
    try:
        yield tmp
        os.chmod(tmp, 0o755)
        if old.exists():
            shutil.rmtree(old)
        if path.exists():
            os.replace(path, old)
        os.replace(tmp, path)
        if old.exists():
            shutil.rmtree(old)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
