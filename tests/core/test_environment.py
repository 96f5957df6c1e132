"""The environment files stay in step, and the workflow passes Snakemake's own lint."""

from __future__ import annotations

import yaml

from segtarget.core.envfile import environment_yml, pins
from workflow_helpers import ROOT, copy_project, snakemake, tiny_params


def test_environment_yml_matches_the_lock():
    lock = (ROOT / "requirements.lock").read_text()
    assert (ROOT / "environment.yml").read_text() == environment_yml(lock), "run `make environment.yml`"
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pip == pins(lock) and len(pip) > 200
    assert "python=3.11" in env["dependencies"]


def test_lock_pins_every_top_level_requirement():
    locked = {p.split("==")[0].lower() for p in pins((ROOT / "requirements.lock").read_text())}
    for line in (ROOT / "requirements.in").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name = line.split("[")[0].split("=")[0].split("<")[0].split(">")[0].strip().lower()
            assert name in locked, name


def test_snakemake_lint_is_clean(tmp_path):
    proj = copy_project(tmp_path / "p", tiny_params())
    res = snakemake(proj, "--lint")
    out = res.stdout + res.stderr
    assert "Congratulations, your workflow is in a good condition!" in out
