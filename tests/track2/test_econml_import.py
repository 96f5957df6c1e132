"""econml is imported without dowhy (a fresh interpreter), and dowhy stays importable afterwards."""

import subprocess
import sys

CODE = """
import sys
from segtarget.track2.econml_import import econml
est = econml("dml").LinearDML
assert "econml.dml" in sys.modules and "dowhy" not in sys.modules and "sympy" not in sys.modules, "dowhy imported"
import dowhy
print("ok", dowhy.__version__)
"""


def test_econml_without_dowhy_then_dowhy_still_importable():
    res = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True)
    assert res.returncode == 0 and res.stdout.startswith("ok"), res.stderr[-2000:]
