"""The examples in the library's docstrings run and print what they say.

The docstrings are the API documentation (numpy style, each with a runnable example); an
example that no longer runs is a documentation bug, so every module's examples run here.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import segtarget

#: Every module and package (a package's ``__init__`` docstring can carry examples too).
MODULES = sorted(m.name for m in pkgutil.walk_packages(segtarget.__path__, prefix="segtarget."))


def test_modules_are_found():
    assert {"segtarget.features", "segtarget.data.synthetic", "segtarget.track2.design", "segtarget.report.render"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} docstring examples failed"
