"""Benchmark of the data layer: ingest time and peak memory per source (not a test).

Each measurement runs ``scripts/ingest.py`` (and, for synthetic data, ``scripts/synthetic.py``
first) in a fresh subprocess and records its wall time and peak resident memory
(``getrusage(RUSAGE_CHILDREN).ru_maxrss`` of that child alone). Prints a table of medians.

Usage::

    python benchmarks/bench_ingest.py [--runs 3] [--sizes 2500,25000] [--weeks 102]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import datasets

ROOT = Path(__file__).resolve().parents[1]


def _measure(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process."""
    code = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        "r = subprocess.run(sys.argv[1:]); w = time.perf_counter() - t; "
        "m = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024; "
        "print(f'{w} {m}'); sys.exit(r.returncode)"
    )
    out = subprocess.run([sys.executable, "-c", code, *cmd], cwd=cwd, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stderr[-2000:]}")
    wall, mem = out.stdout.split()[-2:]
    return float(wall), float(mem)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--sizes", default="2500,25000", help="synthetic household counts")
    ap.add_argument("--weeks", type=int, default=102)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        specs = ["completejourney"] + [f"synthetic:{int(n)}" for n in args.sizes.split(",") if n]
        for spec in specs:
            source, _ = datasets.parse(spec)
            params = datasets.write_params(tmp, spec, args.weeks)
            gen = None
            if source == "synthetic":
                gen = _measure([sys.executable, str(ROOT / "scripts/synthetic.py"), "--params", str(params),
                                "--out-dir", str(tmp / "raw")], tmp)
            walls, mems = [], []
            for _ in range(args.runs):
                w, m = _measure([sys.executable, str(ROOT / "scripts/ingest.py"), "--params", str(params),
                                 "--synthetic-dir", str(tmp / "raw"), "--out-dir", str(tmp / "interim"),
                                 "--summary", str(tmp / "summary.csv")], tmp)
                walls.append(w)
                mems.append(m)
            lines = int(next(l for l in (tmp / "summary.csv").read_text().splitlines() if l.startswith("transactions")).split(",")[1])
            rows.append((datasets.label(spec, args.weeks), lines, statistics.median(walls), max(mems), gen))
    print(f"{'source':32} {'lines':>12} {'ingest s (median)':>18} {'peak MB':>9} {'generate s':>11} {'gen peak MB':>12}")
    for label, lines, wall, mem, gen in rows:
        g = f"{gen[0]:11.1f} {gen[1]:12.0f}" if gen else f"{'':>11} {'':>12}"
        print(f"{label:32} {lines:12,} {wall:18.1f} {mem:9.0f} {g}")


if __name__ == "__main__":
    main()
