"""Run a stage script as its shell command would, minus the seconds of imports.

Every stage script imports pandas, scikit-learn, econml, Ibis, matplotlib...: 3-8 CPU seconds
before it reads an argument, paid again by each of the ~60 script runs of the test suite. Here a
script runs in a child forked from multiprocessing's fork server, a clean single-threaded process
that has imported those libraries once (``_script_preload``) and has run nothing: no BLAS or OpenMP
pools, no DuckDB or Java threads, so forking it is safe. The child is its own process, as the
shell's would be: its own working folder, environment, ``sys.argv``, stdout and stderr (files read
back into a :class:`subprocess.CompletedProcess`), logging and warnings set up by the script, and its
exit status (``sys.exit(2)`` gives 2; an uncaught exception prints its traceback and gives 1).
"""

from __future__ import annotations

import multiprocessing
import os
import runpy
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

_CTX = multiprocessing.get_context("forkserver")
_CTX.set_forkserver_preload(["_script_preload"])
TIMEOUT = 1200  # seconds; a script that has not ended by then is killed and the test fails


def _child(script: str, args: list[str], cwd: str, env: dict, out: str, err: str) -> None:
    os.environ.clear()
    os.environ.update(env)
    for fd, path in ((1, out), (2, err)):
        f = os.open(path, os.O_WRONLY | os.O_TRUNC)
        os.dup2(f, fd)
        os.close(f)
    sys.stdout = open(1, "w", buffering=1, closefd=False)
    sys.stderr = open(2, "w", buffering=1, closefd=False)
    os.chdir(cwd)
    warnings.simplefilter("ignore")  # what PYTHONWARNINGS=ignore does for a fresh interpreter
    sys.argv = [script, *args]
    sys.path[0] = str(Path(script).parent)  # `python scripts/x.py` puts the script's folder first
    runpy.run_path(script, run_name="__main__")


def run(script: Path, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """``python script *args`` in ``cwd``, captured, as :func:`subprocess.run` would return it."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    with tempfile.TemporaryDirectory(prefix="script_io_") as io_dir:
        out, err = Path(io_dir, "stdout"), Path(io_dir, "stderr")
        out.touch()
        err.touch()
        proc = _CTX.Process(target=_child, args=(str(script), list(args), str(cwd), env, str(out), str(err)))
        proc.start()
        proc.join(TIMEOUT)
        if proc.exitcode is None:
            proc.kill()
            proc.join()
            raise AssertionError(f"{script.name} {' '.join(args)} did not end within {TIMEOUT} s")
        return subprocess.CompletedProcess([sys.executable, str(script), *args], proc.exitcode,
                                           out.read_text(errors="replace"), err.read_text(errors="replace"))
