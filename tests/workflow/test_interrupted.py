"""Interrupted runs: SIGKILL in the middle of a stage loses nothing; rerunning finishes with the same bytes.

Every stage writes its outputs to a temporary name and renames them into place (segtarget.core.io),
so a killed job leaves either the old file or none, never half of one; Snakemake marks the job
incomplete (the profile's ``rerun-incomplete`` reruns it; the lock a killed Snakemake leaves is removed
with ``snakemake --unlock``, the documented recovery) and DVC, which removes a stage's outputs
before running it, sees them missing or changed. Both reruns must end where an uninterrupted run ends.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workflow_helpers import env, snakemake

pytestmark = pytest.mark.workflow

KILL_STAGE = "policy"  # a heavy stage (econml policy trees, bootstraps) near the end of the DAG: cheap to redo
STAGE_OUTPUT = Path("results/metrics/policy.json")  # the stage's last output (written after every table)


def _outputs(project: Path) -> dict[str, bytes]:
    files = [*project.glob("results/tables/*.csv"), *project.glob("results/metrics/*.json"),
             *project.glob("results/figures/policy/*.png")]
    return {p.relative_to(project).as_posix(): p.read_bytes() for p in sorted(files)}


def _kill_when_started(cmd: list[str], cwd: Path, timeout: float = 600) -> None:
    """Start ``cmd`` in its own process group and SIGKILL the whole group a moment after the stage has
    started: its log says so (every stage script logs "<stage>: started" to its log file first) and its
    outputs are gone (both orchestrators remove them before the job runs). The stage then has many seconds
    of work left, so the kill lands inside it; the test checks that it did."""
    log = cwd / "logs" / f"{KILL_STAGE}.log"
    log.unlink(missing_ok=True)
    proc = subprocess.Popen(cmd, cwd=cwd, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    start = time.monotonic()
    try:
        while not (log.exists() and f"{KILL_STAGE}: started" in log.read_text() and not (cwd / STAGE_OUTPUT).exists()):
            assert proc.poll() is None, f"{' '.join(cmd)} ended before the {KILL_STAGE} stage started"
            assert time.monotonic() - start < timeout, f"the {KILL_STAGE} stage never started"
            time.sleep(0.1)
        time.sleep(1.0)
        assert proc.poll() is None, f"{' '.join(cmd)} finished before it could be killed"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not (cwd / STAGE_OUTPUT).exists(), f"the kill landed after the {KILL_STAGE} stage finished"


def test_snakemake_rerun_after_sigkill_matches_the_uninterrupted_run(tiny_project, tmp_path):
    work = tmp_path / "p"
    shutil.copytree(tiny_project, work, symlinks=True)  # keeps mtimes and .snakemake metadata
    before = _outputs(work)
    exe = str(Path(sys.executable).parent / "snakemake")
    _kill_when_started([exe, "--cores", "2", "--forcerun", KILL_STAGE], work)
    snakemake(work, "--unlock")  # a SIGKILL leaves Snakemake's lock behind: the README's recovery step
    res = snakemake(work)  # the profile's rerun-incomplete picks the killed job up
    out = res.stdout + res.stderr  # Snakemake logs the jobs it runs on stderr
    assert f"rule {KILL_STAGE}:" in out or f"localrule {KILL_STAGE}:" in out, out[-4000:]
    after = _outputs(work)
    assert set(after) == set(before)
    assert [k for k in before if before[k] != after[k]] == []
    dry = snakemake(work, "-n")
    assert "Nothing to be done" in dry.stdout + dry.stderr


def test_dvc_repro_after_sigkill_matches_the_uninterrupted_run(dvc_project, tmp_path):
    work = tmp_path / "d"
    shutil.copytree(dvc_project, work, symlinks=True)  # the session's `dvc repro` run: its git repository, dvc.lock, cache
    dvc = str(Path(shutil.which("dvc", path=env()["PATH"])))
    before = _outputs(work)
    _kill_when_started([dvc, "repro", "--force", "--single-item", KILL_STAGE], work)
    res = subprocess.run([dvc, "repro"], cwd=work, env=env(), capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    after = _outputs(work)
    assert set(after) == set(before)
    assert [k for k in before if before[k] != after[k]] == []
    status = subprocess.run([dvc, "status"], cwd=work, env=env(), capture_output=True, text=True).stdout
    assert "up to date" in status, status
