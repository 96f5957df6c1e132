"""Snakemake and DVC describe the same stages: names, commands, inputs, params and outputs."""

from __future__ import annotations

import ast
import itertools
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
    """Rule name -> list of its jobs' (inputs, outputs, shell command), from a forced dry run."""
    text = snakemake(project, "-n", "-p", "--forceall").stdout
    jobs = {}
    for block in re.split(r"\n(?=rule \w+:)", text):
        m = re.match(r"rule (\w+):", block)
        if not m or m.group(1) == "all":
            continue
        field = lambda name: [s.strip() for s in (re.search(rf"^\s+{name}: (.*)$", block, re.M) or [None, ""])[1].split(",") if s.strip()]
        cmd = re.search(r"^Shell command: (.*)$", block, re.M)
        jobs.setdefault(m.group(1), []).append(
            (set(field("input")), set(field("output")), " ".join(cmd.group(1).split()) if cmd else None))
    return jobs


def _expand(stage: dict, params: dict) -> list[dict]:
    """A DVC ``matrix`` stage as its instances (``${section.key}`` lists from params or literal lists, ``${item.x}`` filled in)."""
    if "matrix" not in stage:
        return [stage]
    axes = {}
    for name, spec in stage["matrix"].items():
        if isinstance(spec, list):  # a literal list (the report's languages)
            axes[name] = spec
            continue
        node = params
        for part in re.fullmatch(r"\$\{(.+)\}", spec).group(1).split("."):
            node = node[part]
        axes[name] = node
    body = {k: v for k, v in stage.items() if k != "matrix"}
    out = []
    for combo in itertools.product(*axes.values()):
        text = yaml.safe_dump(body)
        for name, value in zip(axes, combo):
            text = text.replace("${item.%s}" % name, str(value))
        out.append(yaml.safe_load(text))
    return out


@pytest.fixture(scope="module")
def jobs(tmp_path_factory):
    return _snakemake_jobs(copy_project(tmp_path_factory.mktemp("drift"), tiny_params()))


#: DVC deps that stand for several Snakemake inputs: a folder whose files are other stages' outputs
#: (DVC cannot list a matrix stage's outputs as deps of the stage that gathers them).
FOLDER_DEPS = {"semisynthetic": "results/semisynthetic", "cate": "results/cate"}


def test_same_stage_names(jobs):
    assert set(jobs) == set(_dvc_stages())


@pytest.mark.parametrize("stage", sorted(_dvc_stages()))
def test_stage_matches(jobs, stage):
    instances = _expand(_dvc_stages()[stage], tiny_params())
    expected = set()
    for dvc in instances:
        deps = _paths(dvc.get("deps"))
        outs = _paths(dvc.get("outs")) | _paths(dvc.get("metrics")) | _paths(dvc.get("plots"))
        expected.add((" ".join(dvc["cmd"].split()), frozenset(deps), frozenset(outs)))
    got = set()
    for inputs, outputs, cmd in jobs[stage]:
        folder = FOLDER_DEPS.get(stage)
        if folder:
            assert any(i.startswith(folder + "/") for i in inputs), f"{stage}: no input under {folder}"
            inputs = {i for i in inputs if not i.startswith(folder + "/")} | {folder}
        for code in (d for d in _paths(_dvc_stages()[stage].get("deps")) if (ROOT / d).is_dir() and d.startswith("src/")):
            # a code folder is a DVC dep; Snakemake gets its .py files (common.smk: code_deps)
            assert any(i.startswith(code + "/") and i.endswith(".py") for i in inputs), f"{stage}: no file of {code}"
            inputs = {i for i in inputs if not i.startswith(code + "/")} | {code}
        got.add((cmd, frozenset(inputs), frozenset(outputs)))
    assert got == expected, "commands, inputs or outputs differ from dvc.yaml"


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
    doc = re.search(r"^DOCUMENT_PARAMS = (\{.*?\n\})", code, re.M | re.S)
    if doc:  # the report script: one stage per document, each declaring the sections that document prints
        read = set(ast.literal_eval(doc.group(1))[stage.removeprefix("report_")])
    declared = set()
    for entry in dvc.get("params", []):
        keys = [entry] if isinstance(entry, str) else [k for v in entry.values() for k in v]
        declared.update(k.split(".")[0] for k in keys)
    assert read == declared


def test_slurm_profile_dry_run_requests_each_rules_resources(tmp_path):
    """The SLURM profile plans the whole workflow, and every job carries its rule's memory and runtime."""
    project = copy_project(tmp_path / "slurm", tiny_params())
    out = snakemake(project, "--profile", "workflow/profiles/slurm", "-n", "--forceall").stdout
    blocks = [b for b in re.split(r"\n(?=(?:local)?rule \w+:)", out) if re.match(r"rule \w+:", b)]
    rules = {re.match(r"rule (\w+):", b).group(1) for b in blocks} - {"all"}
    assert rules == set(_dvc_stages())
    for b in blocks:
        name = re.match(r"rule (\w+):", b).group(1)
        if name != "all":
            res = re.search(r"^\s+resources: (.*)$", b, re.M)
            assert res and re.search(r"mem_mb=\d+", res.group(1)) and re.search(r"runtime=\d+", res.group(1)), name
