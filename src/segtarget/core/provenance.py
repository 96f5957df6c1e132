"""Provenance of a run: code version, parameters, package versions, data source and size.

The record must be reproducible itself, or it would break the promise that a fresh clone
reproduces every locked output byte for byte. So it names the last commit that changed
anything able to change the outputs (code, workflow, parameters, the lock, the report
sources) rather than HEAD: committing a new ``dvc.lock`` moves HEAD but not this commit, and
the record (and the reports that show it) stay identical. Its timestamp is also the render
date of the reports (``SOURCE_DATE_EPOCH``). A working tree with uncommitted changes to those
paths is marked ``+dirty``; outside a git checkout the commit is ``unknown``.
"""

from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path

import pandas as pd
import yaml

from segtarget.core.params import digest

#: Paths whose changes can change the outputs.
CODE_PATHS = ("src", "scripts", "workflow", "report", "params.yaml", "dvc.yaml", "requirements.lock")
#: Packages whose versions the reports list.
KEY_PACKAGES = ("segtarget", "numpy", "pandas", "scikit-learn", "scipy", "statsmodels", "econml", "dowhy",
                "ibis-framework", "duckdb", "pyspark", "pandera", "snakemake", "dvc", "matplotlib", "pypandoc-binary", "typst")


def _git(root: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def code_version(root: str | Path = ".") -> dict:
    """The last commit touching :data:`CODE_PATHS`, its time, and whether they are modified."""
    root = Path(root)
    line = _git(root, "log", "-1", "--format=%H %ct", "--", *CODE_PATHS)
    if not line:
        return {"commit": "unknown", "commit_time": 0, "dirty": False}
    commit, ts = line.split()
    dirty = bool(_git(root, "status", "--porcelain", "--untracked-files=no", "--", *CODE_PATHS))
    return {"commit": commit[:12] + ("+dirty" if dirty else ""), "commit_time": int(ts), "dirty": dirty}


def package_versions(names=KEY_PACKAGES) -> dict:
    out = {}
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            out[n] = "not installed"
    return out


def run_info(params_path: str | Path, data_summary: str | Path, root: str | Path = ".") -> dict:
    """The provenance record written to ``results/run_info.json``."""
    params = yaml.safe_load(Path(params_path).read_text())
    summary = pd.read_csv(data_summary)
    rows = {r.table: int(r.rows) for r in summary.itertuples(index=False)}
    tx = summary.loc[summary.table == "transactions"].iloc[0]
    return {
        "code": code_version(root),
        "params_hash": digest(params),
        "data_source": params["data"]["source"],
        "data_rows": rows,
        "households": int(tx["households"]),
        "packages": package_versions(),
    }
