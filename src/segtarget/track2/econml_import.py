"""Import econml without the dowhy import it does for a wrapper this project never uses.

econml's base estimator module imports ``econml.dowhy``, which imports dowhy when it is installed
(it is: the refutation checks test against it), and dowhy pulls in sympy, networkx, statsmodels'
formula API and matplotlib: about 3 s of CPU in every process that fits a CATE learner or a policy
tree, that is in every ``cate_fit`` job, each semi-synthetic replication and the policy stage.
:func:`econml` makes dowhy look absent while econml is first imported, so econml binds its
documented placeholder (a ``MissingModule`` that raises only if ``estimator.dowhy`` is used);
dowhy itself stays importable afterwards.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType


def econml(module: str) -> ModuleType:
    """``econml.<module>``, imported (the first time) with dowhy hidden.

    Parameters
    ----------
    module : the econml submodule, e.g. ``"dml"``, ``"dr"``, ``"metalearners"``, ``"policy"``.

    Examples
    --------
    >>> econml("dml").LinearDML.__name__
    'LinearDML'
    """
    hide = "econml" not in sys.modules and "dowhy" not in sys.modules
    if hide:
        sys.modules["dowhy"] = None  # type: ignore[assignment]  # `import dowhy` raises ImportError
    try:
        importlib.import_module("econml._cate_estimator")
    finally:
        if hide:
            del sys.modules["dowhy"]
    return importlib.import_module(f"econml.{module}")
