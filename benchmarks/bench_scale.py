"""Benchmark of the data stages at 10x and 100x the original data: time and peak memory per stage (not a test).

For each household count, writes a ``params.yaml`` (the project's, with ``data.source:
synthetic`` and the synthetic size) and runs the project's own stage scripts one after the
other, each as a fresh subprocess: ``scripts/synthetic.py`` (dunnhumby-format CSVs),
``scripts/ingest.py`` (canonical parquet tables), ``scripts/features.py`` (the 33 customer
features) and ``scripts/cohort.py`` (the stacked Track 2 cohort). Each stage's wall time and
peak resident memory (``getrusage(RUSAGE_CHILDREN).ru_maxrss`` of that child alone, as
``/usr/bin/time -v`` reports it) and CPU time (user + system: on a shared machine the least
disturbed number) are recorded. Prints one markdown table: scale (households /
2,500), stage, wall s, peak GB, the stage's size (transaction lines for the data stages,
households for features, units for cohort) and its wall time relative to the smallest scale
measured (growth no worse than linear means a ratio at most the ratio of the sizes).

The quality bar: every stage within 8 GB at 100x (``--budget-gb``). 100x (256M lines) writes
about 15 GB of CSV and 1.7 GB of parquet; give ``--data-dir`` a disk with room (the folders are
kept, so a rerun with ``--stages`` can measure one stage again). Not part of ``make bench``: at
100x the four stages take about 20 minutes on 2 cores.

Usage::

    nice -n 10 python benchmarks/bench_scale.py [--households 25000,250000] [--weeks 102]
        [--stages synthetic,ingest,features,cohort] [--data-dir DIR] [--budget-gb 8]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import datasets  # noqa: E402

STAGES = ("synthetic", "ingest", "features", "cohort")
ORIGINAL_HOUSEHOLDS = 2500
_MEASURE = (
    "import resource, subprocess, sys, time; t = time.perf_counter(); "
    "r = subprocess.run(sys.argv[1:], capture_output=True, text=True); w = time.perf_counter() - t; "
    "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
    "sys.stderr.write(r.stderr); print(f'{w} {u.ru_maxrss / 1024**2} {u.ru_utime + u.ru_stime}'); sys.exit(r.returncode)"
)


def measure(cmd: list[str], cwd: Path) -> tuple[float, float, float]:
    """Wall seconds, peak RSS (GB) and CPU seconds of one child process; stops with its stderr if it fails."""
    out = subprocess.run([sys.executable, "-c", _MEASURE, *cmd], cwd=cwd, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed (exit {out.returncode}):\n{out.stderr[-3000:]}")
    wall, mem, cpu = out.stdout.split()[-3:]
    return float(wall), float(mem), float(cpu)


def commands(folder: Path) -> dict[str, list[str]]:
    """The command of each stage, reading and writing inside ``folder``."""
    py, s, p = sys.executable, ROOT / "scripts", ["--params", str(folder / "params.yaml")]
    return {
        "synthetic": [py, str(s / "synthetic.py"), *p, "--out-dir", "raw"],
        "ingest": [py, str(s / "ingest.py"), *p, "--synthetic-dir", "raw", "--out-dir", "interim",
                   "--summary", "data_summary.csv"],
        "features": [py, str(s / "features.py"), *p, "--interim-dir", "interim", "--out", "features.csv",
                     "--dictionary", "feature_dictionary.csv"],
        "cohort": [py, str(s / "cohort.py"), *p, "--interim-dir", "interim", "--out", "cohort.csv",
                   "--flow", "cohort_flow.csv"],
    }


def size_of(folder: Path, stage: str) -> tuple[int, str]:
    """What the stage processed: transaction lines, households or cohort units."""
    if stage in ("synthetic", "ingest"):
        summary = pd.read_csv(folder / "data_summary.csv") if (folder / "data_summary.csv").is_file() else None
        if summary is not None:
            return int(summary.loc[summary["table"] == "transactions", "rows"].iloc[0]), "lines"
        manifest = json.loads((folder / "raw" / "MANIFEST.json").read_text())
        return int(manifest["rows"]["transaction_data.csv"]), "lines"
    if stage == "features":
        with open(folder / "features.csv") as fh:
            return sum(1 for _ in fh) - 1, "households"
    with open(folder / "cohort.csv") as fh:
        return sum(1 for _ in fh) - 1, "units"


def run_scale(folder: Path, households: int, weeks: int, stages: list[str]) -> list[dict]:
    """Run ``stages`` at one size in ``folder``; one row per stage."""
    folder.mkdir(parents=True, exist_ok=True)
    datasets.write_params(folder, f"synthetic:{households}", weeks)
    cmds, rows = commands(folder), []
    for stage in stages:
        print(f"  {households:,} households: {stage} ...", end="", flush=True)
        wall, peak, cpu = measure(cmds[stage], folder)
        print(f" {wall:.1f} s, {peak:.2f} GB, CPU {cpu:.1f} s", flush=True)
        rows.append({"households": households, "stage": stage, "wall": wall, "peak": peak, "cpu": cpu})
    for row in rows:
        row["size"], row["unit"] = size_of(folder, row["stage"])
    return rows


def table(rows: list[dict], budget_gb: float) -> str:
    """The markdown table; time ratio against the smallest scale measured for the same stage."""
    base = {}
    for r in sorted(rows, key=lambda r: r["households"]):
        base.setdefault(r["stage"], r)
    out = ["| scale | stage | wall s | CPU s | peak GB | lines/households | time ratio vs smallest (size ratio) |",
           "|---|---|---|---|---|---|---|"]
    for r in rows:
        b = base[r["stage"]]
        ratio = f"{r['wall'] / b['wall']:.1f} ({r['size'] / b['size']:.1f})" if b is not r else "1.0"
        flag = "" if r["peak"] <= budget_gb else " **over**"
        out.append(f"| {r['households'] / ORIGINAL_HOUSEHOLDS:g}x | {r['stage']} | {r['wall']:.1f} | {r['cpu']:.1f} | "
                   f"{r['peak']:.2f}{flag} | {r['size']:,} {r['unit']} | {ratio} |")
    return "\n".join(out)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", default="25000,250000", help="comma-separated household counts")
    ap.add_argument("--weeks", type=int, default=102)
    ap.add_argument("--stages", default=",".join(STAGES), help="comma-separated, in workflow order")
    ap.add_argument("--data-dir", default=None, help="keep each size's files in DIR/hh<N> (default: a temporary folder)")
    ap.add_argument("--budget-gb", type=float, default=8.0)
    args = ap.parse_args(argv)
    stages = [s for s in args.stages.split(",") if s]
    if unknown := set(stages) - set(STAGES):
        raise SystemExit(f"unknown stage(s) {sorted(unknown)}; expected some of {', '.join(STAGES)}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(args.data_dir or tmp)
        for n in (int(x) for x in args.households.split(",") if x):
            rows += run_scale(base / f"hh{n}", n, args.weeks, stages)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nstages at scale ({args.weeks} weeks; 1x = {ORIGINAL_HOUSEHOLDS:,} households), budget {args.budget_gb:g} GB; "
          f"{os.cpu_count()} CPUs, load average after the runs {load}\n")
    print(table(rows, args.budget_gb))


if __name__ == "__main__":
    main()
