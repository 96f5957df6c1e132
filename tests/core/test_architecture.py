"""The layout is the architecture: import rules (import-linter contracts) and module sizes.

The contracts live in pyproject.toml ([tool.importlinter]); these tests run them on the real
package and show that they bite, by breaking a copy of the package on purpose.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
PACKAGE = ROOT / "src" / "segtarget"

#: "No module over about 500 lines; no stage script over about 60 lines" (the house rules),
#: with a little slack so that a docstring line does not fail the build.
MAX_MODULE_LINES = 550
MAX_SCRIPT_LINES = 65


def _lint(src_root: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(src_root)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True)


def test_import_contracts_hold():
    res = _lint(ROOT / "src", ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 broken" in res.stdout


@pytest.mark.parametrize("module, line, contract", [
    ("track1/__init__.py", "import segtarget.track2.design", "tracks are independent"),
    ("core/paths.py", "import segtarget.data.schemas", "layered"),
    ("report/results.py", "import segtarget.track2.design", "never the analysis modules"),
    ("data/ingest.py", "import segtarget.report.results", "layered"),
])
def test_import_contracts_catch_a_violation(tmp_path, module, line, contract):
    shutil.copytree(PACKAGE, tmp_path / "src" / "segtarget", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "src" / "segtarget" / module
    target.write_text(target.read_text() + f"\n{line}  # deliberate violation\n")
    res = _lint(tmp_path / "src", tmp_path)
    assert res.returncode != 0
    broken = [ln for ln in res.stdout.splitlines() if ln.rstrip().endswith("BROKEN")]
    assert any(contract in ln for ln in broken), res.stdout


def test_modules_and_scripts_stay_small():
    big = {str(p.relative_to(ROOT)): n for p in PACKAGE.rglob("*.py")
           if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not big, f"split these modules (over {MAX_MODULE_LINES} lines): {big}"
    long_scripts = {p.name: n for p in (ROOT / "scripts").glob("*.py")
                    if (n := len(p.read_text().splitlines())) > MAX_SCRIPT_LINES}
    assert not long_scripts, f"move logic into the library (scripts over {MAX_SCRIPT_LINES} lines): {long_scripts}"
