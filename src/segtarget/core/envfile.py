"""Keep ``environment.yml`` (for conda users) in step with ``requirements.lock``.

conda cannot install on our machines, so the conda file is derived from the lock rather than
solved separately: python 3.11 from conda-forge plus the full pip lock. ``make environment.yml``
rewrites it; a test fails when the two drift apart.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

HEADER = """\
# Conda environment for segtarget (generated from requirements.lock by `make environment.yml`;
# do not edit by hand). Create with: conda env create -f environment.yml
name: segtarget
channels:
  - conda-forge
dependencies:
  - python=3.11
  - pip
  - openjdk=17
  - pip:
"""


def pins(lock_text: str) -> list[str]:
    """The ``name==version`` lines of a pip lock, in file order."""
    return [m.group(0) for m in re.finditer(r"^[A-Za-z0-9_.\-\[\],]+==[^\s;#]+", lock_text, re.M)]


def environment_yml(lock_text: str) -> str:
    return HEADER + "".join(f"      - {p}\n" for p in pins(lock_text))


if __name__ == "__main__":
    root = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    (root / "environment.yml").write_text(environment_yml((root / "requirements.lock").read_text()))
