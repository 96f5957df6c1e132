"""Imported once by the fork server of :mod:`script_runner`: the libraries the stage scripts import.

Importing only; nothing here may start a thread (no fitting, no connection, no plot), or forking the
server would no longer be safe.
"""

import matplotlib

matplotlib.use("Agg")

import duckdb  # noqa: E402,F401
import ibis  # noqa: E402,F401
import matplotlib.pyplot  # noqa: E402,F401
import pandas  # noqa: E402,F401
import pyarrow.parquet  # noqa: E402,F401
import scipy.stats  # noqa: E402,F401
import sklearn.ensemble  # noqa: E402,F401
import sklearn.linear_model  # noqa: E402,F401
import sklearn.model_selection  # noqa: E402,F401
import statsmodels.api  # noqa: E402,F401
import yaml  # noqa: E402,F401

import segtarget.core.io  # noqa: E402,F401
import segtarget.core.params  # noqa: E402,F401
import segtarget.data.schemas  # noqa: E402,F401
import segtarget.features  # noqa: E402,F401
from segtarget.track2.econml_import import econml  # noqa: E402

for _module in ("dml", "dr", "metalearners", "policy"):
    econml(_module)
