"""Benchmark of raw CSVs -> customer features: this project against the original's pandas way (not a test).

On the same generated dunnhumby-format CSVs (``scripts/synthetic.py``; by default 25,000
households x 102 weeks, 10x the original data, 25.8M lines), each run measures side by side:

- ``segtarget ingest``: ``scripts/ingest.py`` (all eight canonical tables, checks, summary);
- ``segtarget features``: ``scripts/features.py`` on what ingest wrote;
- ``segtarget CSV -> features``: the two stages one after the other (wall times added, peak =
  the larger of the two, as they run as separate processes);
- ``feature query alone``: the time the features stage logs for reading the parquet tables and
  computing the features (no interpreter start, no CSV writing);
- ``pandas (original's way)``: ``features_original.py``, ``pd.read_csv`` of the two files the
  features need, cleaning and vectorised group-bys.

Each step is a fresh subprocess; wall time and peak resident memory
(``getrusage(RUSAGE_CHILDREN).ru_maxrss`` of that child alone) and its CPU time (user + system:
on a shared machine the least disturbed number) are recorded. Prints one table of medians and
the largest relative difference between the two feature tables (they must agree).

Usage::

    nice -n 5 python benchmarks/bench_csv_features.py [--households 25000] [--weeks 102]
        [--runs 3] [--data-dir DIR] [--memory-limit 2GB]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import datasets  # noqa: E402

_MEASURE = (
    "import resource, subprocess, sys, time; t = time.perf_counter(); "
    "r = subprocess.run(sys.argv[1:], capture_output=True, text=True); w = time.perf_counter() - t; "
    "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
    "sys.stderr.write(r.stderr); print(f'{w} {u.ru_maxrss / 1024} {u.ru_utime + u.ru_stime}'); sys.exit(r.returncode)"
)


def measure(cmd: list[str], cwd: Path) -> tuple[float, float, float, str]:
    """Wall seconds, peak RSS (MB), CPU seconds and stderr of one child process."""
    out = subprocess.run([sys.executable, "-c", _MEASURE, *cmd], cwd=cwd, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stderr[-2000:]}")
    wall, mem, cpu = out.stdout.split()[-3:]
    return float(wall), float(mem), float(cpu), out.stderr


def prepare(folder: Path, households: int, weeks: int, memory_limit: str | None) -> Path:
    """Write the params file and (once) the synthetic CSVs under ``folder``."""
    params = datasets.params_for(f"synthetic:{households}", weeks)
    if memory_limit:
        params["compute"]["memory_limit"] = memory_limit
    path = folder / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    if not (folder / "raw" / "transaction_data.csv").is_file():
        print(f"  generating {households:,} households x {weeks} weeks in {folder / 'raw'}", flush=True)
        measure([sys.executable, str(ROOT / "scripts/synthetic.py"), "--params", str(path), "--out-dir", "raw"], folder)
    return path


def one_run(folder: Path, params: Path) -> dict[str, tuple[float, float, float]]:
    py = sys.executable
    res = {}
    res["segtarget ingest"] = measure([py, str(ROOT / "scripts/ingest.py"), "--params", str(params), "--synthetic-dir",
                                       "raw", "--out-dir", "interim", "--summary", "summary.csv"], folder)[:3]
    *feat, log = measure([py, str(ROOT / "scripts/features.py"), "--params", str(params), "--interim-dir", "interim",
                          "--out", "features_segtarget.csv", "--dictionary", "dictionary.csv"], folder)
    res["segtarget features"] = tuple(feat)
    query = re.search(r"features: .* in ([0-9.]+) s", log)
    res["feature query alone"] = (float(query.group(1)) if query else float("nan"), float("nan"), float("nan"))
    a, b = res["segtarget ingest"], res["segtarget features"]
    res["segtarget CSV -> features"] = (a[0] + b[0], max(a[1], b[1]), a[2] + b[2])
    res["pandas (original's way)"] = measure([py, str(HERE / "features_original.py"), "raw", "features_pandas.csv"],
                                             folder)[:3]
    return res


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=25000)
    ap.add_argument("--weeks", type=int, default=102)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--data-dir", default=None, help="keep the generated CSVs here (reused when present)")
    ap.add_argument("--memory-limit", default=None, help="override compute.memory_limit (DuckDB) for the features stage")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.data_dir or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        params = prepare(folder, args.households, args.weeks, args.memory_limit)
        runs = []
        for i in range(args.runs):
            runs.append(one_run(folder, params))
            print(f"  run {i + 1}: " + ", ".join(f"{k} {v[0]:.1f} s" for k, v in runs[-1].items()), flush=True)
        from bench_features import compare

        diff = compare(str(folder / "features_pandas.csv"), str(folder / "features_segtarget.csv"))
        lines = int(next(ln for ln in (folder / "summary.csv").read_text().splitlines()
                         if ln.startswith("transactions,")).split(",")[1])
    base = {k: statistics.median(r["pandas (original's way)"][k] for r in runs) for k in (0, 1)}
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nCSV -> features, {datasets.label(f'synthetic:{args.households}', args.weeks)} ({lines:,} lines), "
          f"medians of {args.runs} run(s); {os.cpu_count()} CPUs, load average after the runs {load}")
    print(f"{'step':28} {'wall s':>8} {'CPU s':>8} {'peak MB':>8}")
    for step in runs[0]:
        wall, mem, cpu = (statistics.median(r[step][k] for r in runs) for k in range(3))
        print(f"{step:28} {wall:8.1f} {cpu:8.1f} {mem:8.0f}".replace(" nan", "    "))
    total = [statistics.median(r["segtarget CSV -> features"][k] for r in runs) for k in (0, 1)]
    print(f"pandas / segtarget time {base[0] / total[0]:.1f}x (target >= 4); segtarget / pandas peak memory "
          f"{total[1] / base[1]:.2f} (target <= 0.25)")
    print(f"largest relative difference between the two feature tables: {diff:.1e}")


if __name__ == "__main__":
    main()
