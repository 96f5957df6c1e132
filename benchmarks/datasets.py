"""Benchmark data sets: canonical tables for the default data and synthetic retailers.

A data set is named by a spec string:

- ``completejourney``: the embedded Complete Journey package (the default data);
- ``synthetic:N``: a synthetic retailer of N households over ``weeks`` weeks
  (``synthetic:2500`` is the original project's size, about 2.5M transaction lines;
  ``synthetic:25000`` is ten times that).

:func:`prepare` runs the project's own synthetic generator and ingest (the same code
as the ``synthetic`` and ``ingest`` stages) into a folder and returns the folder of
canonical parquet tables, so a benchmark measures exactly what the workflow reads.
"""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def parse(spec: str) -> tuple[str, int]:
    """``'synthetic:2500'`` -> ``('synthetic', 2500)``; ``'completejourney'`` -> (.., 0)."""
    source, _, n = spec.partition(":")
    if source not in ("completejourney", "synthetic") or (source == "synthetic") != bool(n):
        raise SystemExit(f"dataset {spec!r} is invalid; expected completejourney or synthetic:N")
    return source, int(n or 0)


def label(spec: str, weeks: int = 102) -> str:
    source, n = parse(spec)
    return source if source == "completejourney" else f"synthetic {n:,} hh x {weeks} wk"


def params_for(spec: str, weeks: int = 102) -> dict:
    """The project's params.yaml with ``data.source`` and the synthetic size of ``spec``."""
    source, n = parse(spec)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"]["source"] = source
    if source == "synthetic":
        params["synthetic"].update(households=n, weeks=weeks)
    return params


def write_params(folder: Path, spec: str, weeks: int = 102) -> Path:
    path = Path(folder) / "params.yaml"
    path.write_text(yaml.safe_dump(params_for(spec, weeks)))
    return path


def prepare(spec: str, folder: str | Path, weeks: int = 102) -> Path:
    """Generate (if synthetic) and ingest ``spec`` under ``folder``; return the interim dir."""
    from segtarget.data.ingest import ingest
    from segtarget.data.synthetic import write_synthetic

    folder = Path(folder)
    params = params_for(spec, weeks)
    raw, interim = folder / "raw", folder / "interim"
    if params["data"]["source"] == "synthetic":
        write_synthetic(params["data"], params["synthetic"], raw)
    ingest(params["data"], interim, folder / "data_summary.csv", synthetic_dir=raw)
    return interim
