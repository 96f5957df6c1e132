"""Copy the project to a temporary folder and run its workflow on a tiny synthetic config."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
_IGNORE_ANYWHERE = shutil.ignore_patterns(
    ".venv", ".git", ".snakemake", "_output", "__pycache__", ".pytest_cache", ".hypothesis", "*.egg-info",
)
#: Run products, by folder: the project's own (not ``src/segtarget/data``, which is code)
#: and DVC's cache.
_IGNORE_IN = {ROOT: {"data", "results", "logs", "tmp", "cache"}, ROOT / ".dvc": {"tmp", "cache"}}


def IGNORE(folder: str, names: list[str]) -> set[str]:
    """Names not to copy from ``folder`` (a :func:`shutil.copytree` ignore function)."""
    return set(_IGNORE_ANYWHERE(folder, names)) | (_IGNORE_IN.get(Path(folder).resolve(), set()) & set(names))

#: A config small enough for the whole workflow to run in well under a minute per stage.
TINY = {
    "data": {"source": "synthetic"},
    "synthetic": {"households": 200, "weeks": 30, "seed": 7, "campaigns_a": 2, "campaigns_b": 3,
                  "campaigns_c": 1, "first_campaign_week": 12},
}


def tiny_params(overrides: dict | None = None) -> dict:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    for section, values in {**TINY, **(overrides or {})}.items():
        params[section] = {**params.get(section, {}), **values}
    tiny_extra = ROOT / "tests" / "tiny_params.yaml"
    if tiny_extra.exists():  # per-stage speed settings (fewer bootstraps, smaller grids)
        for section, values in (yaml.safe_load(tiny_extra.read_text()) or {}).items():
            if section not in (overrides or {}):
                params[section] = {**params.get(section, {}), **values}
    return params


def copy_project(dest: Path, params: dict) -> Path:
    """A fresh copy of the project (code and config only) with ``params`` as params.yaml."""
    shutil.copytree(ROOT, dest, ignore=IGNORE, dirs_exist_ok=True)
    (dest / "data" / "raw").mkdir(parents=True, exist_ok=True)
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return dest


def env() -> dict:
    bindir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", ""), "PYTHONWARNINGS": "ignore"}


def snakemake(project: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    res = subprocess.run(
        [str(Path(sys.executable).parent / "snakemake"), "--cores", "2", *args],
        cwd=project, capture_output=True, text=True, env=env(),
    )
    if check and res.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{res.stdout[-4000:]}\n{res.stderr[-6000:]}")
    return res


def git_env() -> dict:
    """:func:`env` with a git identity (the temporary repositories of the DVC tests commit)."""
    return {**env(), "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
            "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}


def dvc_exe() -> str:
    return str(Path(shutil.which("dvc", path=env()["PATH"])))


class BackgroundRun:
    """Commands run one after another in ``project`` by a background process (its own process group).

    The session's shared workflow runs start this way before the first test, so that they overlap the
    unit tests (which are run first); :meth:`result` waits for the run and fails with the end of its
    output if a command failed.
    """

    def __init__(self, name: str, project: Path, commands: list[list[str]]):
        self.name, self.project = name, project
        self.log = project.parent / f"{project.name}.log"
        script = " && ".join(shlex.join(c) for c in commands)
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen(["bash", "-c", script], cwd=project, env=git_env(), stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)

    def result(self) -> Path:
        if self.proc.wait() != 0:
            raise AssertionError(f"{self.name} failed:\n{self.log.read_text(errors='replace')[-8000:]}")
        return self.project

    def stop(self) -> None:
        """Kill the run if it is still going (the session ended before a test needed it)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def start_snakemake_run(dest: Path) -> BackgroundRun:
    """The whole workflow, run by Snakemake on the tiny config in a fresh copy of the project."""
    project = copy_project(dest, tiny_params())
    return BackgroundRun("snakemake", project, [[str(Path(sys.executable).parent / "snakemake"), "--cores", "2"]])


def start_dvc_run(dest: Path) -> BackgroundRun:
    """The whole workflow, run by ``dvc repro`` on the tiny config in another fresh copy, a new git repository."""
    project = copy_project(dest, tiny_params())
    (project / "dvc.lock").unlink(missing_ok=True)
    return BackgroundRun("dvc repro", project, [["git", "init", "-q"], ["git", "add", "-A"],
                                                ["git", "commit", "-qm", "copy"], [dvc_exe(), "repro", "-q"]])
