"""Benchmark of the default run and of cheap reruns: what a parameter change costs (not a test).

Copies the project (code and config) to a folder, runs the default workflow cold
(``snakemake --cores 4``: the embedded Complete Journey data unless ``--dataset`` says otherwise),
then changes one parameter at a time and times the rerun, listing the rules Snakemake reran:

* ``policy.margin`` (a policy-only change): must rerun only ``policy``, ``metrics`` and the Track 2
  and summary documents; target under 15% of the cold run (issue 16);
* ``segmentation.k_rule`` (a Track 1 change): must rerun no causal stage.

Each rule's ``benchmark:`` file gives its wall time and peak memory. Prints one table per part.

Usage::

    python benchmarks/bench_reruns.py [--dataset completejourney] [--cores 4] [--dir DIR]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

import datasets  # noqa: E402
from workflow_helpers import copy_project, snakemake  # noqa: E402

CHANGES = [("policy.margin", 0.25), ("segmentation.k_rule", "max_silhouette")]


def _stage_table(project: Path, since: float | None = None) -> pd.DataFrame:
    """Wall time, peak memory and CPU time of each job (of those whose benchmark file was written
    after ``since``, a time stamp, when given: the jobs of a rerun)."""
    rows = []
    for tsv in sorted((project / "logs" / "benchmarks").glob("*.tsv")):
        if since is not None and tsv.stat().st_mtime < since:
            continue
        b = pd.read_csv(tsv, sep="\t").iloc[-1]
        rows.append({"job": tsv.stem, "wall_s": float(b["s"]), "max_rss_mb": float(b["max_rss"]),
                     "cpu_s": float(b["cpu_time"])})
    return pd.DataFrame(rows).sort_values("wall_s", ascending=False)


def _set(project: Path, key: str, value) -> None:
    params = yaml.safe_load((project / "params.yaml").read_text())
    section, name = key.split(".")
    params[section][name] = value
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="completejourney", help="completejourney (default) or synthetic:N")
    ap.add_argument("--cores", default="4")
    ap.add_argument("--dir", default=None, help="project copy to run in (default: a temporary folder)")
    args = ap.parse_args(argv)
    params = datasets.params_for(args.dataset)
    with tempfile.TemporaryDirectory() as tmp:
        project = copy_project(Path(args.dir or tmp) / "project", params)
        t0 = time.perf_counter()
        snakemake(project, "--cores", args.cores)
        cold = time.perf_counter() - t0
        stages = _stage_table(project)
        cold_cpu = stages["cpu_s"].sum()
        reruns = []
        for key, value in CHANGES:
            _set(project, key, value)
            started = time.time()
            t0 = time.perf_counter()
            res = snakemake(project, "--cores", args.cores)
            wall = time.perf_counter() - t0
            out = res.stdout + res.stderr  # Snakemake 9 logs the jobs it runs on stderr
            rules = sorted(set(re.findall(r"^(?:local)?rule (\w+):", out, re.M)) - {"all"})
            rerun_cpu = _stage_table(project, since=started)["cpu_s"].sum()
            reruns.append({"change": f"{key} = {value}", "wall_s": wall, "share_of_cold": wall / cold,
                           "cpu_s": rerun_cpu, "cpu_share_of_cold": rerun_cpu / cold_cpu,
                           "rules_rerun": ", ".join(rules)})
    print(f"default run, {args.dataset}, snakemake --cores {args.cores}: cold {cold:.0f} s wall, "
          f"{cold_cpu:.0f} CPU s in its jobs")
    print(stages.to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    print(pd.DataFrame(reruns).to_string(index=False, float_format=lambda v: f"{v:.2f}"))


if __name__ == "__main__":
    main()
