"""Where the feature query runs: a DuckDB connection by default, PySpark when asked.

Why this module exists: the feature expressions are written once in Ibis; the backend is a
parameter (``compute.backend``). Connecting (threads, memory limit, a private spill folder)
and reading the canonical parquet tables are the only backend-specific steps, kept here.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Sequence

import ibis

from segtarget.core.errors import InputError, ParamError
from segtarget.core.paths import interim
from segtarget.features.definitions import REQUIRED_COLUMNS


def _spark_memory(memory_limit: str) -> str:
    """DuckDB-style size ('4GB', '512MiB') -> a JVM size in megabytes ('4096m')."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT])(i?)B\s*", str(memory_limit), re.I)
    if not m:
        raise ParamError(f"compute.memory_limit = {memory_limit!r} is invalid; expected e.g. 4GB")
    base = 1024 if m.group(3) else 1000
    nbytes = float(m.group(1)) * base ** ("KMGT".index(m.group(2).upper()) + 1)
    mb = nbytes / 1024**2
    return f"{max(int(mb), 256)}m"


def _spill_dir() -> str:
    """A private folder in the system's temp area for DuckDB's spill files, removed at exit.

    DuckDB's default for an in-memory database is ``.tmp`` in the working directory, which
    would be the project folder (and left behind by a killed run)."""
    path = tempfile.mkdtemp(prefix="segtarget-duckdb-")
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def connect(backend: str = "duckdb", threads: int = 2, memory_limit: str = "2GB"):
    """An Ibis connection to run the feature code on.

    ``duckdb`` is an in-memory database limited to ``threads`` and ``memory_limit`` (it
    spills to a private temp folder beyond that; results do not depend on either). ``pyspark`` starts (or reuses) a quiet
    local Spark session, ``local[threads]``, with ``memory_limit`` as driver memory: the
    scale-out path, 5 to 10 times slower than DuckDB on one machine.

    Examples
    --------
    >>> con = connect("duckdb", threads=1, memory_limit="1GB")
    >>> con.name
    'duckdb'
    """
    if backend == "duckdb":
        con = ibis.duckdb.connect(
            threads=int(threads), memory_limit=str(memory_limit), preserve_insertion_order=False,
            temp_directory=_spill_dir(),
        )
        con.raw_sql("SET enable_progress_bar = false")
        return con
    if backend == "pyspark":
        java_home = os.environ.get("JAVA_HOME")
        if shutil.which("java") is None and not (java_home and Path(java_home, "bin", "java").exists()):
            raise ParamError(
                "compute.backend = 'pyspark' needs Java 17+ (java on PATH or JAVA_HOME); "
                "install a JDK or use backend duckdb"
            )
        from pyspark.sql import SparkSession

        session = (
            SparkSession.builder.master(f"local[{int(threads)}]")
            .appName("segtarget-features")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.ui.enabled", "false")
            .config("spark.driver.memory", _spark_memory(memory_limit))
            .config("spark.sql.shuffle.partitions", "8")
            .config("spark.sql.session.timeZone", "UTC")
            .getOrCreate()
        )
        session.sparkContext.setLogLevel("ERROR")
        return ibis.pyspark.connect(session)
    raise ParamError(f"compute.backend = {backend!r} is invalid; expected one of duckdb, pyspark")


def read_tables(con, interim_dir: str | os.PathLike, names: Sequence[str] = ("transactions", "products")) -> dict:
    """Read canonical parquet tables from ``interim_dir`` into ``con`` as Ibis tables.

    Raises :class:`InputError` (one line) when the folder, a file or a column the
    feature code needs is missing.
    """
    root = Path(interim_dir)
    if not root.is_dir():
        raise InputError(f"{root}: interim folder not found; expected the canonical parquet tables of the ingest stage")
    tables = {}
    for name in names:
        path = interim(name, root)
        if not path.is_file():
            raise InputError(f"{path}: canonical table {name} not found; run the ingest stage first")
        try:
            table = con.read_parquet(str(path), table_name=f"canonical_{name}")
        except Exception as exc:  # noqa: BLE001 - any reader failure is a bad input file
            why = " ".join(str(exc).split()).split(" LINE ")[0][:200]
            raise InputError(f"{path}: cannot read as parquet ({why}); rerun the ingest stage to rewrite it") from exc
        missing = [c for c in REQUIRED_COLUMNS.get(name, ()) if c not in table.columns]
        if missing:
            raise InputError(f"{path}: canonical table {name} lacks column {missing[0]}; expected {', '.join(REQUIRED_COLUMNS[name])}")
        tables[name] = table
    return tables
