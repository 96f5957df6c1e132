"""Snakemake and DVC describe the same stages: names, commands, inputs, params and outputs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from workflow_helpers import ROOT, copy_project, snakemake, tiny_params


def _dvc_stages() -> dict:
    return yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


def _paths(entries) -> set[str]:
    out = set()
    for e in entries or []:
        out.update([e] if isinstance(e, str) else e.keys())
    return out


def _snakemake_jobs(project: Path) -> dict:
    """Rule name -> (inputs, outputs, shell command), from a forced dry run."""
    text = snakemake(project, "-n", "-p", "--forceall").stdout
    jobs = {}
    for block in re.split(r"\n(?=rule \w+:)", text):
        m = re.match(r"rule (\w+):", block)
        if not m or m.group(1) == "all":
            continue
        field = lambda name: [s.strip() for s in (re.search(rf"^\s+{name}: (.*)$", block, re.M) or [None, ""])[1].split(",") if s.strip()]
        cmd = re.search(r"^Shell command: (.*)$", block, re.M)
        jobs[m.group(1)] = (set(field("input")), set(field("output")), " ".join(cmd.group(1).split()) if cmd else None)
    return jobs


@pytest.fixture(scope="module")
def jobs(tmp_path_factory):
    return _snakemake_jobs(copy_project(tmp_path_factory.mktemp("drift"), tiny_params()))


def test_same_stage_names(jobs):
    assert set(jobs) == set(_dvc_stages())


@pytest.mark.parametrize("stage", sorted(_dvc_stages()))
def test_stage_matches(jobs, stage):
    dvc = _dvc_stages()[stage]
    inputs, outputs, cmd = jobs[stage]
    assert cmd == " ".join(dvc["cmd"].split()), "command differs"
    assert inputs == _paths(dvc.get("deps")), "inputs differ from deps"
    assert outputs == _paths(dvc.get("outs")) | _paths(dvc.get("metrics")) | _paths(dvc.get("plots")), "outputs differ"


@pytest.mark.parametrize("stage", sorted(_dvc_stages()))
def test_script_reads_only_declared_params(stage):
    """The params sections a script loads are exactly the sections its stage declares."""
    dvc = _dvc_stages()[stage]
    script = next(d for d in dvc["deps"] if d.startswith("scripts/"))
    code = (ROOT / script).read_text()
    read = set()
    if re.search(r"params\.load\(\s*args\.params", code):  # the whole file
        read.update(yaml.safe_load((ROOT / "workflow/schemas/params.schema.yaml").read_text())["properties"])
    for call in re.findall(r"load_section\(\s*args\.params\s*,([^)]*)\)", code):
        read.update(re.findall(r"[\"'](\w+)[\"']", call))
    declared = set()
    for entry in dvc.get("params", []):
        keys = [entry] if isinstance(entry, str) else [k for v in entry.values() for k in v]
        declared.update(k.split(".")[0] for k in keys)
    assert read == declared
