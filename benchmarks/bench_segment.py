"""Benchmark of the Track 1 `segment` stage (not a test): wall time and peak memory, medians.

Runs ``scripts/segment.py`` in a fresh subprocess ``--runs`` times on a customer feature
table (default: the project's ``results/tables/customer_features.csv``, i.e. the default
data) with the project's ``params.yaml``, writing into a temporary folder, and prints the
median wall time (target: under 60 s on 2 cores) and the peak resident memory. The stage
log's own split (chain vs figures) is printed from the last run.

Usage::

    python benchmarks/bench_segment.py [--features results/tables/customer_features.csv] [--runs 3]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
from pathlib import Path

from bench_ingest import _measure

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--features", default=str(ROOT / "results/tables/customer_features.csv"))
    ap.add_argument("--params", default=str(ROOT / "params.yaml"))
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    walls, mems = [], []
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        cmd = [sys.executable, str(ROOT / "scripts/segment.py"), "--params", args.params, "--features", args.features,
               "--tables-dir", str(t / "tables"), "--model", str(t / "segmentation.json"),
               "--figures-dir", str(t / "figures"), "--metrics", str(t / "segment.json"), "--log", str(t / "segment.log")]
        for _ in range(args.runs):
            w, m = _measure(cmd, t)
            walls.append(w)
            mems.append(m)
        split = re.findall(r"(segmentation chain: .*|wrote .*)", (t / "segment.log").read_text())
    print(f"{'stage':10} {'runs':>4} {'wall s (median)':>16} {'min':>6} {'max':>6} {'peak MB':>8}")
    print(f"{'segment':10} {len(walls):4d} {statistics.median(walls):16.1f} {min(walls):6.1f} {max(walls):6.1f} "
          f"{max(mems):8.0f}")
    for line in split:
        print("  last run:", line)


if __name__ == "__main__":
    main()
