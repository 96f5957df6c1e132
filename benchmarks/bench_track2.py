"""Benchmark of the Track 2 stages: cohort, positivity, ate, cate and cate_eval (not a test).

Runs the stage scripts in sequence, each in a fresh subprocess, on canonical tables
(default: the project's ``data/interim``, i.e. the data of the last ingest) with the project's
``params.yaml``, writing into a temporary folder. Records each stage's wall time and peak
resident memory (``getrusage(RUSAGE_CHILDREN)`` of that child) and prints medians.

Usage::

    python benchmarks/bench_track2.py [--interim-dir data/interim] [--runs 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from bench_ingest import _measure

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--interim-dir", default=str(ROOT / "data" / "interim"))
    ap.add_argument("--params", default=str(ROOT / "params.yaml"))
    ap.add_argument("--runs", type=int, default=1)
    args = ap.parse_args()
    times: dict[str, list[float]] = {}
    mems: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        py = sys.executable
        stages = {
            "cohort": [py, str(ROOT / "scripts/cohort.py"), "--params", args.params, "--interim-dir", args.interim_dir,
                       "--out", str(t / "cohort.csv"), "--flow", str(t / "flow.csv")],
            "positivity": [py, str(ROOT / "scripts/positivity.py"), "--params", args.params, "--cohort", str(t / "cohort.csv"),
                           "--tables-dir", str(t), "--figures-dir", str(t / "fig_pos"), "--metrics", str(t / "pos.json")],
            "ate": [py, str(ROOT / "scripts/ate.py"), "--params", args.params, "--cohort", str(t / "cohort.csv"),
                    "--scores", str(t / "propensity_scores.csv"), "--out", str(t / "ate.csv"),
                    "--figures-dir", str(t / "fig_ate"), "--metrics", str(t / "ate.json")],
            "cate": [py, str(ROOT / "scripts/cate.py"), "--params", args.params, "--cohort", str(t / "cohort.csv"),
                     "--scores", str(t / "propensity_scores.csv"), "--out", str(t / "cate_predictions.csv"),
                     "--summary", str(t / "cate_summary.csv"), "--figures-dir", str(t / "fig_cate"),
                     "--metrics", str(t / "cate.json")],
            "cate_eval": [py, str(ROOT / "scripts/cate_eval.py"), "--params", args.params, "--cohort", str(t / "cohort.csv"),
                          "--scores", str(t / "propensity_scores.csv"), "--predictions", str(t / "cate_predictions.csv"),
                          "--out", str(t / "customer_cate.csv"), "--selection", str(t / "cate_model_selection.csv"),
                          "--curves", str(t / "uplift_curves.csv"), "--calibration", str(t / "cate_calibration.csv"),
                          "--figures-dir", str(t / "fig_cate_eval"), "--metrics", str(t / "cate_eval.json")],
        }
        for _ in range(args.runs):
            for name, cmd in stages.items():
                w, m = _measure(cmd, t)
                times.setdefault(name, []).append(w)
                mems.setdefault(name, []).append(m)
    print(f"{'stage':12} {'wall s (median)':>16} {'peak MB':>9}")
    for name in stages:
        print(f"{name:12} {statistics.median(times[name]):16.1f} {max(mems[name]):9.0f}")
    total = sum(statistics.median(v) for v in times.values())
    print(f"{'total':12} {total:16.1f}")


if __name__ == "__main__":
    main()
