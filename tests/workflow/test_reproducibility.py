"""Reproducibility: identical reruns, Snakemake and DVC agree, parameter changes rerun only what they must."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from workflow_helpers import dvc_exe, git_env, snakemake

pytestmark = pytest.mark.workflow

REPORTS = {"report_track1", "report_track2", "report_summary"}
T2_DOCS = {"report_track2", "report_summary"}  # the documents that print Track 2 results
ALL = {"synthetic", "ingest", "features", "segment", "cohort", "positivity", "ate", "cate_fit", "cate", "cate_eval", "refute",
       "semisynthetic_rep", "semisynthetic", "score_households", "policy", "metrics", *REPORTS}


def locked_outputs(project: Path) -> dict[str, str]:
    """SHA-256 of every table, metrics file and figure of a run."""
    files = [*project.glob("results/tables/*.csv"), *project.glob("results/metrics*.json"),
             *project.glob("results/metrics/*.json"), *project.glob("results/figures/**/*.png")]
    return {p.relative_to(project).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(files)}


def _run(cmd, cwd):
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=git_env())
    assert res.returncode == 0, f"{cmd}: {res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    return res.stdout + res.stderr


# `tiny_project` (Snakemake) and `dvc_project` (`dvc repro` in a fresh git repository) are the session's two
# independent runs of the whole workflow on the tiny config, each in its own copy of the project (tests/conftest.py).


def test_snakemake_and_dvc_give_identical_outputs(tiny_project, dvc_project):
    """Two independent runs (Snakemake and DVC, in separate copies) are byte-identical."""
    a, b = locked_outputs(tiny_project), locked_outputs(dvc_project)
    assert len(a) > 40
    assert set(a) == set(b)
    differ = sorted(k for k in a if a[k] != b[k])
    assert not differ, differ


def _dvc_changed(project: Path, key: str, value) -> set[str]:
    params_file = project / "params.yaml"
    original = params_file.read_text()
    params = yaml.safe_load(original)
    section, name = key.split(".")
    params[section][name] = value
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))
    try:
        out = _run([dvc_exe(), "status"], project)
    finally:
        params_file.write_text(original)
    return {name.split("@")[0] for name in re.findall(r"^([\w@.-]+):", out, re.M)}


def _snakemake_changed(project: Path, key: str, value) -> set[str]:
    params = yaml.safe_load((project / "params.yaml").read_text())
    section, name = key.split(".")
    params[section][name] = value
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    out = snakemake(project, "-n").stdout
    return set(re.findall(r"^rule (\w+):", out, re.M)) | set(re.findall(r"^localrule (\w+):", out, re.M)) - {"all"}


SEMI = {"semisynthetic_rep", "semisynthetic"}
CAUSAL = {"positivity", "ate", "cate_fit", "cate", "cate_eval", "refute", *SEMI, "score_households", "policy", "metrics", *T2_DOCS}
CHANGES = [
    # key, value, stages whose own params change (DVC status; a matrix stage by its name; `metrics` writes the
    # provenance record, which hashes the whole params file), rules Snakemake reruns
    ("ate.n_bootstrap", 40, {"ate", "metrics", *T2_DOCS}, {"ate", "refute", "metrics", *T2_DOCS}),
    ("positivity.seed", 3, {"positivity", "ate", "cate_fit", "cate", "cate_eval", "refute", "semisynthetic_rep", "score_households",
                            "metrics", *T2_DOCS}, CAUSAL),
    # a Track 1 change reruns no causal stage; the segment model feeds the scoring and the segment recommendations
    ("segmentation.k_rule", "max_silhouette", {"segment", "metrics", "report_track1"},
     {"segment", "score_households", "policy", "metrics", *REPORTS}),
    ("cohort.lookback_weeks", 9, {"cohort", "score_households", "metrics", *T2_DOCS}, {"cohort", *CAUSAL}),
    ("cate.forest_min_leaf", 5, {"cate_fit", "cate", "semisynthetic_rep", "score_households", "metrics", *T2_DOCS},
     {"cate_fit", "cate", "cate_eval", *SEMI, "score_households", "policy", "metrics", *T2_DOCS}),
    # the evaluation has a section of its own: changing the rule does not refit the learners
    ("cate_eval.selection_rule", "min_rloss", {"cate_eval", *SEMI, "metrics", *T2_DOCS},
     {"cate_eval", *SEMI, "score_households", "policy", "metrics", *T2_DOCS}),
    # a policy parameter reruns the policy and what reads it, nothing upstream, not the Track 1 report (issues 15, 16)
    ("policy.margin", 0.25, {"policy", "metrics", *T2_DOCS}, {"policy", "metrics", *T2_DOCS}),
    ("data.source", "completejourney", {"synthetic", "ingest", "metrics", *REPORTS}, ALL),
]


@pytest.mark.parametrize("key, value, dvc_expected, _", CHANGES)
def test_dvc_reruns_only_dependent_stages(dvc_project, key, value, dvc_expected, _):
    assert _dvc_changed(dvc_project, key, value) == dvc_expected


@pytest.mark.parametrize("key, value, _, smk_expected", CHANGES[:-1])
def test_snakemake_reruns_only_dependent_rules(tiny_project, tmp_path, key, value, _, smk_expected):
    work = tmp_path / "p"
    shutil.copytree(tiny_project, work, symlinks=True)  # keeps mtimes and .snakemake metadata
    rules = _snakemake_changed(work, key, value) - {"all"}
    assert rules == smk_expected


def test_dvc_status_clean_after_repro(dvc_project):
    out = _run([dvc_exe(), "status"], dvc_project)
    assert "up to date" in out


def test_make_record_leaves_both_orchestrators_clean(tiny_project, tmp_path):
    """`make run` = Snakemake, then `make record` (dvc commit, snakemake --touch): afterwards
    Snakemake has nothing to do and DVC's status is clean, so neither reruns the other's work."""
    work = tmp_path / "p"
    shutil.copytree(tiny_project, work, symlinks=True)  # keeps mtimes and .snakemake metadata
    _run(["git", "init", "-q"], work)
    _run(["git", "add", "-A"], work)
    _run(["git", "commit", "-qm", "copy"], work)
    (work / "dvc.lock").unlink(missing_ok=True)
    _run(["make", "--no-print-directory", "record"], work)
    dry = snakemake(work, "-n").stdout
    assert "Nothing to be done" in dry, dry[-2000:]
    status = _run([dvc_exe(), "status"], work)
    assert "Data and pipelines are up to date" in status, status


def test_experiment_metrics_show_beside_the_baseline(dvc_project, tmp_path):
    """results/metrics.json is tracked in git (DVC metrics, cache: false), so a plain
    `dvc exp show` lists the headline numbers of the baseline and of each experiment, each its own.

    The probe changes the policy margin and reproduces up to the metrics stage (the policy and
    metrics stages rerun, the reports are not re-rendered): a change that moves a headline number,
    the breakeven effect cost / margin, so the probe's row must show its own value, not the baseline's."""
    work = tmp_path / "exp"
    shutil.copytree(dvc_project, work, symlinks=True)
    dvc = dvc_exe()
    policy = yaml.safe_load((work / "params.yaml").read_text())["policy"]
    _run(["git", "add", "dvc.lock", "results/metrics.json"], work)
    _run(["git", "commit", "-qm", "baseline run"], work)
    margin = round(policy["margin"] + 0.05, 4)
    _run([dvc, "exp", "run", "-q", "-n", "probe", "-S", f"policy.margin={margin}", "metrics"], work)
    rows = list(csv.DictReader(io.StringIO(_run([dvc, "exp", "show", "--csv"], work))))
    columns = {key: next((c for c in rows[0] if c.endswith(key)), None)
               for key in ("ate_naive_purchase_amount", "track2.policy.breakeven")}
    assert all(columns.values()), list(rows[0])
    named = {r["Experiment"] or r["rev"]: r for r in rows}
    assert "probe" in named, list(named)
    baseline = [r for k, r in named.items() if k not in ("probe", "workspace")]
    assert baseline
    for row in (named["probe"], *baseline):
        assert all(row[c] not in ("", "-") for c in columns.values()), row
    breakeven = columns["track2.policy.breakeven"]  # cost / margin: scales as 1 / margin
    for row in baseline:
        assert float(named["probe"][breakeven]) == pytest.approx(float(row[breakeven]) * policy["margin"] / margin,
                                                                 rel=1e-6), (named["probe"][breakeven], row[breakeven])
