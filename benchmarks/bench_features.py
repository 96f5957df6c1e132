"""Benchmark of the feature stage: DuckDB vs the pandas reference vs PySpark (not a test).

Each measurement runs in a fresh subprocess that reads the canonical parquet tables,
computes the 33 features of every household and writes them to CSV. The parent records

- ``wall_s``: the subprocess's wall time (imports, JVM start for Spark, read, compute, write);
- ``stage_s``: the time inside it from connecting/reading to the written CSV;
- ``peak_rss_mb``: the peak resident memory of the whole process tree, sampled every 20 ms
  from /proc (this sees Spark's JVM, which ``getrusage``/``/usr/bin/time`` do not), and
  ``maxrss_mb``: ``getrusage(RUSAGE_SELF).ru_maxrss`` of the Python process itself.

Data sets (``--datasets``, see ``datasets.py``) are built with the project's own
synthetic generator and ingest: by default the Complete Journey (the default data) and
synthetic retailers at 1x (2,500 households x 102 weeks, the original project's size) and
10x (25,000 households). PySpark runs on the 1x data sets only (``--spark-datasets``).
DuckDB and Spark use the ``compute`` section of ``--params`` (threads, memory_limit), as
the stage does. ``--interim-dir`` benchmarks an existing folder of canonical tables instead.

The summary under the table checks the targets of the feature stage: DuckDB at least 8x
faster than the pandas reference at 10x, under 2 s at 1x, and a peak memory at most a
quarter of the pandas version's.

Usage::

    python benchmarks/bench_features.py [--datasets completejourney,synthetic:2500,synthetic:25000]
        [--interim-dir DIR] [--runs 3] [--pandas-runs 1] [--engines duckdb,pandas,pyspark]
        [--data-dir DIR]   # keep the generated data sets there and reuse them
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import datasets  # noqa: E402


# ---------------------------------------------------------------------------------------
# one measured run (child process)


def worker(engine: str, interim_dir: str, out_csv: str, params_path: str) -> None:
    import resource

    t0 = time.perf_counter()
    if engine == "pandas":
        import pandas as pd

        from features_pandas import pandas_features

        tx = pd.read_parquet(Path(interim_dir) / "transactions.parquet")
        pr = pd.read_parquet(Path(interim_dir) / "products.parquet")
        df = pandas_features(tx, pr)
    else:
        from segtarget.core import params
        from segtarget.features import connect, features_from_params, read_tables

        compute, feats = params.load_section(params_path, "compute", "features")
        con = connect(engine, threads=compute["threads"], memory_limit=compute["memory_limit"])
        t0 = time.perf_counter()  # Spark: exclude the JVM start from the stage time
        tables = read_tables(con, interim_dir)
        df = features_from_params(con, tables, feats)
    df.to_csv(out_csv, index=False)
    stage = time.perf_counter() - t0
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"stage_s": stage, "maxrss_mb": maxrss, "rows": len(df)}))


# ---------------------------------------------------------------------------------------
# parent: spawn, sample memory, summarise


def _tree_rss_kb(root: int) -> int:
    """Sum of VmRSS over ``root`` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/status") as fh:
                kb = next((int(line.split()[1]) for line in fh if line.startswith("VmRSS:")), 0)
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = kb
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def measure(engine: str, interim_dir: str, tmp: str, params_path: str) -> dict:
    out_csv = os.path.join(tmp, f"features_{engine}.csv")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", engine, interim_dir, out_csv, params_path]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss_kb(proc.pid))
        time.sleep(0.02)
    wall = time.perf_counter() - t0
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{engine} run failed:\n{err[-2000:]}")
    res = json.loads(out.strip().splitlines()[-1])
    res.update(engine=engine, wall_s=wall, peak_rss_mb=peak / 1024, csv=out_csv)
    return res


def compare(csv_a: str, csv_b: str) -> float:
    """Largest relative difference between two feature tables (NaNs must coincide)."""
    import numpy as np
    import pandas as pd

    a = pd.read_csv(csv_a).sort_values("household_id").reset_index(drop=True)
    b = pd.read_csv(csv_b).sort_values("household_id").reset_index(drop=True)
    assert list(a.columns) == list(b.columns) and (a["household_id"].values == b["household_id"].values).all()
    x, y = a.iloc[:, 1:].to_numpy(float), b.iloc[:, 1:].to_numpy(float)
    if not (np.isnan(x) == np.isnan(y)).all():
        return float("inf")
    ok = ~np.isnan(x)
    return float(np.max(np.abs(x[ok] - y[ok]) / np.maximum(np.abs(y[ok]), 1e-12)))


def bench_dataset(name: str, interim_dir: str, engines: list[str], args, tmp: str) -> list[dict]:
    import pandas as pd

    n_lines = len(pd.read_parquet(Path(interim_dir) / "transactions.parquet", columns=["day"]))
    rows, csvs = [], {}
    for engine in engines:
        n_runs = args.pandas_runs if engine == "pandas" else args.runs
        runs = [measure(engine, interim_dir, tmp, args.params) for _ in range(n_runs)]
        csvs[engine] = runs[-1]["csv"]
        rows.append(
            {
                "dataset": name,
                "lines": n_lines,
                "engine": engine,
                "runs": len(runs),
                "households": runs[-1]["rows"],
                "stage_s": statistics.median(r["stage_s"] for r in runs),
                "wall_s": statistics.median(r["wall_s"] for r in runs),
                "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in runs),
            }
        )
        print(f"  {name} {engine}: stage {rows[-1]['stage_s']:.2f} s, peak {rows[-1]['peak_rss_mb']:.0f} MB", flush=True)
    for row in rows:
        row["max_rel_diff_vs_duckdb"] = compare(csvs[row["engine"]], csvs["duckdb"]) if "duckdb" in csvs else None
    return rows


def summary(table) -> list[str]:
    """The target checks, from the measured table."""
    out = []

    def get(dataset, engine, col):
        hit = table[(table.dataset == dataset) & (table.engine == engine)]
        return None if hit.empty else float(hit[col].iloc[0])

    for dataset in table.dataset.unique():
        duck = get(dataset, "duckdb", "stage_s")
        pand = get(dataset, "pandas", "stage_s")
        if duck is None:
            continue
        line = f"{dataset}: duckdb stage {duck:.2f} s"
        if pand is not None:
            mem = get(dataset, "duckdb", "peak_rss_mb") / get(dataset, "pandas", "peak_rss_mb")
            line += f"; pandas / duckdb time {pand / duck:.1f}x (target >= 8 at 10x); duckdb / pandas peak memory {mem:.2f} (target <= 0.25)"
        out.append(line)
    return out


def main(argv=None) -> None:
    import pandas as pd

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="completejourney,synthetic:2500,synthetic:25000")
    ap.add_argument("--interim-dir", default=None, help="benchmark this folder of canonical tables instead")
    ap.add_argument("--data-dir", default=None, help="keep generated data sets here (reused when present)")
    ap.add_argument("--params", default=str(datasets.ROOT / "params.yaml"), help="params file (compute section)")
    ap.add_argument("--runs", type=int, default=3, help="runs per engine (median reported)")
    ap.add_argument("--pandas-runs", type=int, default=1, help="runs of the slow pandas reference")
    ap.add_argument("--engines", default="duckdb,pandas,pyspark")
    ap.add_argument("--spark-datasets", default="completejourney,synthetic:2500", help="data sets Spark runs on")
    ap.add_argument("--worker", nargs=4, metavar=("ENGINE", "INTERIM_DIR", "OUT_CSV", "PARAMS"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker(*args.worker)
        return
    engines = args.engines.split(",")
    spark_on = set(args.spark_datasets.split(","))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.interim_dir:
            cases = [(args.interim_dir, args.interim_dir, engines)]
        else:
            cases = []
            for spec in args.datasets.split(","):
                folder = Path(args.data_dir or tmp) / spec.replace(":", "_")
                interim_dir = folder / "interim"
                if not (interim_dir / "transactions.parquet").is_file():
                    print(f"  preparing {spec} in {folder}", flush=True)
                    datasets.prepare(spec, folder)
                cases.append((datasets.label(spec), str(interim_dir),
                              [e for e in engines if e != "pyspark" or spec in spark_on]))
        for name, interim_dir, case_engines in cases:
            rows += bench_dataset(name, interim_dir, case_engines, args, tmp)
    table = pd.DataFrame(rows)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"feature stage (medians); {os.cpu_count()} CPUs, load average after the runs {load}")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    for line in summary(table):
        print(line)


if __name__ == "__main__":
    main()
