"""Verify a run against committed reference values, within tolerances stated per quantity.

Why this module exists: on one machine two runs are byte-identical, but another machine may
pick another BLAS kernel or SIMD path (``OPENBLAS_CORETYPE`` differs between machines here)
and an iterative fit (NMF, K-means, logistic regression, boosting) then ends a few units of
the last place apart. Byte-comparing the DVC lock across machines would fail for nothing;
comparing nothing would let a real regression through. So the headline numbers and small
summaries of the main tables are extracted from a run (:func:`summarize`), committed as
reference values, and a later run on any machine is compared with them (:func:`compare`)
within the tolerance stated for each quantity in ``reference/tolerances.yaml``.

A tolerance rule is ``pattern: {abs: a, rel: r}``; a quantity passes when
``|run - reference| <= max(a, r * |reference|)``. The first rule whose glob pattern matches
the quantity's name applies; text values must match exactly.

Examples
--------
>>> ref = {"metrics:track1.k": 3, "metrics:track2.ps_auc": 0.8746}
>>> run = {"metrics:track1.k": 3, "metrics:track2.ps_auc": 0.87461}
>>> rules = [("metrics:track1.k", 0.0, 0.0), ("*", 0.0, 1e-3)]
>>> rep = compare(run, ref, rules)
>>> rep[["quantity", "passed"]].to_dict("records")
[{'quantity': 'metrics:track2.ps_auc', 'passed': True}]
"""

from __future__ import annotations

import fnmatch
import json
import math
import os
from pathlib import Path

import pandas as pd
import yaml

from segtarget.core.errors import InputError

#: Main tables summarised for verification: file -> (key columns, value columns). Value
#: columns missing from a run's table are skipped (a stage that gained a column is fine);
#: ``None`` as key summarises each value column by its mean over all rows.
TABLES: dict[str, tuple[list[str] | None, list[str]]] = {
    "data_summary.csv": (["table"], ["rows", "households", "first_day", "last_day"]),
    "customer_features.csv": (None, []),
    "nmf_rank_selection.csv": (["rank"], ["reconstruction_error", "r2_centered", "evar_uncentered", "r2_heldout",
                                          "cophenetic"]),
    "cluster_selection.csv": (["k"], ["inertia", "silhouette", "calinski_harabasz", "davies_bouldin",
                                      "bootstrap_ari"]),
    "segment_profiles.csv": (["segment"], ["n", "share", "revenue_share"]),
    "segment_stability.csv": (["segment"], ["jaccard_mean"]),
    "cohort_flow.csv": (["step"], ["n_treated", "n_control"]),
    "cohort.csv": (None, []),
    "positivity.csv": (["metric"], ["value"]),
    "balance.csv": (["covariate"], ["smd_unweighted", "smd_weighted", "smd_overlap"]),
    "ate.csv": (["outcome", "method", "population"], ["estimate", "se", "ci_low", "ci_high", "n"]),
    "cate_summary.csv": (["outcome", "model"], ["mean_cate", "sd_cate", "rloss_heldout", "rloss_constant"]),
    "cate_model_selection.csv": (["outcome", "model"], ["rloss_heldout", "auuc_normalized", "rate", "rate_ci_low",
                                                        "rate_ci_high", "blp_pvalue", "selected"]),
}

#: Free-text metrics (a selection's reason, a note) quote numbers rounded for a reader; they
#: are not compared: the numbers they quote are, one by one.
TEXT_KEYS = ("reason", "note")

COLUMNS = ["quantity", "reference", "run", "difference", "tolerance", "passed"]


def _leaves(obj, prefix: str, out: dict) -> None:
    if isinstance(obj, dict):
        for k in sorted(obj):
            _leaves(obj[k], f"{prefix}.{k}" if prefix else str(k), out)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            _leaves(v, f"{prefix}[{i}]", out)
    else:
        out[prefix] = obj


def _number(v):
    """A JSON-ready value; floats at the 10 significant digits the reference file keeps."""
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, float):
        return None if math.isnan(v) or math.isinf(v) else float(f"{v:.10g}")
    if isinstance(v, int):
        return v
    return str(v)


def summarize(results_dir: str | os.PathLike) -> dict:
    """Reference quantities of a run: every leaf of ``metrics.json`` and summaries of
    :data:`TABLES` (per key row, or column means), as a flat ``{name: value}`` mapping."""
    root = Path(results_dir)
    out: dict = {}
    metrics = root / "metrics.json"
    if not metrics.is_file():
        raise InputError(f"{metrics}: file not found; run the workflow first")
    leaves: dict = {}
    _leaves(json.loads(metrics.read_text()), "", leaves)
    out.update({f"metrics:{k}": _number(v) for k, v in leaves.items() if k.rsplit(".", 1)[-1] not in TEXT_KEYS})
    for name, (keys, values) in TABLES.items():
        path = root / "tables" / name
        if not path.is_file():
            continue
        df = pd.read_csv(path)
        if keys is None:
            for col in df.select_dtypes("number").columns:
                out[f"{name}:mean:{col}"] = _number(float(df[col].mean()))
            out[f"{name}:rows"] = int(len(df))
            continue
        cols = [c for c in values if c in df.columns]
        for row in df.itertuples(index=False):
            r = row._asdict()
            key = "/".join(str(r[k]) for k in keys)
            for c in cols:
                v = r[c]
                out[f"{name}:{key}:{c}"] = _number(v.item() if hasattr(v, "item") else v)
    return out


def load_rules(path: str | os.PathLike) -> list[tuple[str, float, float]]:
    """The tolerance rules of a YAML file ``{pattern: {abs: a, rel: r}}``, in file order."""
    p = Path(path)
    try:
        doc = yaml.safe_load(p.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"{p}: cannot read the tolerance rules ({exc.__class__.__name__})") from exc
    if not isinstance(doc, dict) or not doc:
        raise InputError(f"{p}: expected a mapping pattern -> {{abs, rel}}")
    rules = []
    for pattern, tol in doc.items():
        if not isinstance(tol, dict) or set(tol) - {"abs", "rel", "why"}:
            raise InputError(f"{p}: rule {pattern!r}: expected keys abs, rel (and why)")
        rules.append((str(pattern), float(tol.get("abs", 0.0)), float(tol.get("rel", 0.0))))
    return rules


def _tolerance(name: str, ref: float, rules) -> float:
    for pattern, a, r in rules:
        if fnmatch.fnmatchcase(name, pattern):
            return max(a, r * abs(ref))
    return 0.0


def compare(run: dict, reference: dict, rules) -> pd.DataFrame:
    """Quantities whose run value differs from the reference at all, with the tolerance that
    applies and whether the difference is within it; missing quantities fail."""
    rows = []
    for name in sorted(set(reference) | set(run)):
        ref, got = reference.get(name, "<missing>"), run.get(name, "<missing>")
        if ref == got:
            continue
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (ref, got))
        if numeric:
            diff = abs(float(got) - float(ref))
            tol = _tolerance(name, float(ref), rules)
            rows.append((name, ref, got, diff, tol, bool(diff <= tol)))
        else:
            rows.append((name, ref, got, float("nan"), float("nan"), False))
    return pd.DataFrame(rows, columns=COLUMNS)
