"""`make verify`: run summaries, tolerance rules, and the comparison that decides pass or fail."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from conftest import ROOT, run_script
from segtarget.core.errors import InputError
from segtarget.core.verify import compare, load_rules, summarize


def _results(folder, estimate=13.1, auc=0.8746, k=3):
    (folder / "tables").mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps({"track1": {"k": k}, "track2": {"ps_auc": auc, "ci": [1.0, 2.0],
                                                                                     "ps_model": "logit"}}))
    pd.DataFrame({"outcome": ["amount"], "method": ["aipw"], "population": ["trimmed"], "estimate": [estimate],
                  "se": [20.0], "ci_low": [-30.0], "ci_high": [56.0], "n": [2226]}).to_csv(folder / "tables" / "ate.csv",
                                                                                            index=False)
    pd.DataFrame({"household_id": [1, 2], "frequency": [2.0, 4.0]}).to_csv(folder / "tables" / "customer_features.csv",
                                                                          index=False)
    return folder


def test_summary_names_every_metric_leaf_and_table_value(tmp_path):
    s = summarize(_results(tmp_path / "r"))
    assert s["metrics:track1.k"] == 3 and s["metrics:track2.ci[1]"] == 2.0 and s["metrics:track2.ps_model"] == "logit"
    assert s["ate.csv:amount/aipw/trimmed:estimate"] == 13.1
    assert s["customer_features.csv:mean:frequency"] == 3.0 and s["customer_features.csv:rows"] == 2


def test_within_tolerance_passes_and_outside_fails(tmp_path):
    ref = summarize(_results(tmp_path / "a"))
    rules = [("metrics:track1.k", 0.0, 0.0), ("ate.csv:*:estimate", 0.01, 0.0), ("*", 0.0, 1e-6)]
    close = summarize(_results(tmp_path / "b", estimate=13.105))
    rep = compare(close, ref, rules)
    assert list(rep["quantity"]) == ["ate.csv:amount/aipw/trimmed:estimate"] and rep["passed"].all()
    far = summarize(_results(tmp_path / "c", estimate=13.2, k=4))
    rep = compare(far, ref, rules).set_index("quantity")
    assert not rep.loc["ate.csv:amount/aipw/trimmed:estimate", "passed"] and not rep.loc["metrics:track1.k", "passed"]


def test_a_missing_quantity_or_changed_text_fails(tmp_path):
    ref = summarize(_results(tmp_path / "a"))
    run = dict(ref)
    del run["metrics:track1.k"]
    run["metrics:track2.ps_model"] = "hgb"
    rep = compare(run, ref, [("*", 1.0, 1.0)])
    assert set(rep["quantity"]) == {"metrics:track1.k", "metrics:track2.ps_model"} and not rep["passed"].any()


def test_committed_tolerance_rules_load_and_cover_everything():
    rules = load_rules(ROOT / "reference" / "tolerances.yaml")
    assert rules[-1][0] == "*"  # a default rule, so no quantity is compared without one
    ref = json.loads((ROOT / "reference" / "default_run.json").read_text())
    assert len(ref) > 500 and any(k.startswith("metrics:track2.") for k in ref)


def test_bad_rules_file_is_a_one_line_error(tmp_path):
    bad = tmp_path / "t.yaml"
    bad.write_text("'*': {absolute: 1}\n")
    with pytest.raises(InputError, match="expected keys abs, rel"):
        load_rules(bad)


def test_verify_script_exit_codes(tmp_path):
    ref_dir, run_dir = _results(tmp_path / "ref"), _results(tmp_path / "run", estimate=99.0)
    ref_file, tol = tmp_path / "ref.json", tmp_path / "tol.yaml"
    tol.write_text("'*': {abs: 0.0, rel: 1.0e-6}\n")
    assert run_script("verify.py", "--results", str(ref_dir), "--reference", str(ref_file), "--write").returncode == 0
    ok = run_script("verify.py", "--results", str(ref_dir), "--reference", str(ref_file), "--tolerances", str(tol))
    assert ok.returncode == 0 and "0 outside tolerance" in ok.stdout
    bad = run_script("verify.py", "--results", str(run_dir), "--reference", str(ref_file), "--tolerances", str(tol))
    assert bad.returncode == 1 and "estimate" in bad.stdout
