"""Bad input to the stage scripts: one line naming the file, column, key or parameter and the fix, exit 2,
nothing written, earlier results left as they were.

The ingest stage's cases (encodings, headers, duplicates, negative money, ...) are in tests/data; the
params document's (types, ranges, unknown names) in tests/core/test_params_fuzz.py. These are the cases
the later stages meet: damaged interim tables, results read out of order, study designs the data cannot
support, impossible economics, and a tampered segment model. ``SEGTARGET_BAD_INPUT_REPORT=path`` writes the
table of cases and messages (for the release notes).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import run_script, write_params
from segtarget.core.io import write_parquet
from segtarget.core.paths import interim

HERE = Path(__file__).resolve().parent
REPORT: list[tuple[str, str]] = []


def _world():
    import sys

    sys.path.insert(0, str(HERE.parent / "track2"))
    from test_cohort import make_world  # the small retailer of the cohort tests

    return make_world()


@pytest.fixture(scope="module")
def world():
    return _world()


def _interim(root: Path, world: dict) -> Path:
    folder = root / "data" / "interim"
    for name, df in world.items():
        write_parquet(df, interim(name, folder))
    return folder


def _expect_one_line_error(res, *needles: str) -> str:
    assert res.returncode == 2, res.stdout[-2000:] + res.stderr[-2000:]
    last = [line for line in res.stderr.splitlines() if line.strip()][-1]
    assert last.startswith("error: ") and "Traceback" not in res.stderr, res.stderr[-3000:]
    for n in needles:
        assert n in last, f"{n!r} not in {last!r}"
    return last


def _cohort(tmp_path, world, **cohort):
    folder = _interim(tmp_path, world)
    params = write_params(tmp_path / "params.yaml", cohort={"lookback_weeks": 8, "min_lookback_weeks": 8, **cohort})
    out = tmp_path / "cohort.csv"
    res = run_script("cohort.py", "--params", str(params), "--interim-dir", str(folder), "--out", str(out),
                     "--flow", str(tmp_path / "flow.csv"), cwd=tmp_path)
    return res, out


CASES = {}


def case(name):
    def deco(fn):
        CASES[name] = fn
        return fn
    return deco


def _features(tmp_path, folder):
    """The features stage on the interim ``folder``: its result and the output it must not write."""
    out = tmp_path / "features.csv"
    res = run_script("features.py", "--params", str(write_params(tmp_path / "params.yaml")), "--interim-dir", str(folder),
                     "--out", str(out), "--dictionary", str(tmp_path / "dict.csv"), cwd=tmp_path)
    return res, out


@case("truncated parquet in data/interim")
def _truncated(tmp_path, world):
    folder = _interim(tmp_path, world)
    p = interim("transactions", folder)
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    return (*_features(tmp_path, folder), ("transactions.parquet", "cannot read as parquet"))


@case("foreign parquet in data/interim (another table's columns)")
def _foreign(tmp_path, world):
    folder = _interim(tmp_path, world)
    write_parquet(pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}), interim("products", folder))
    return (*_features(tmp_path, folder), ("products.parquet", "lacks column"))


@case("interim folder missing (ingest not run)")
def _no_interim(tmp_path, world):
    out = tmp_path / "features.csv"
    res = run_script("features.py", "--params", str(write_params(tmp_path / "params.yaml")), "--interim-dir",
                     str(tmp_path / "nowhere"), "--out", str(out), "--dictionary", str(tmp_path / "dict.csv"), cwd=tmp_path)
    return res, out, ("nowhere", "interim folder not found")


@case("a lookback longer than the data")
def _long_lookback(tmp_path, world):
    res, out = _cohort(tmp_path, world, lookback_weeks=40, min_lookback_weeks=40)
    return res, out, ("cohort.min_lookback_weeks", "no Type A campaign can be stacked")


@case("a listed campaign whose outcome window lies past the data end")
def _past_end(tmp_path, world):
    w = dict(world)
    w["campaigns"] = world["campaigns"].assign(start_day=lambda d: np.where(d.campaign_id == 3, 260, d.start_day),
                                               end_day=lambda d: np.where(d.campaign_id == 3, 270, d.end_day))
    res, out = _cohort(tmp_path, w, campaigns=[3])
    return res, out, ("cohort.campaigns", "campaign 3", "after the data end")


@case("a campaign id not in the data")
def _unknown_campaign(tmp_path, world):
    res, out = _cohort(tmp_path, world, campaigns=[77])
    return res, out, ("cohort.campaigns", "77")


@case("a campaign type the data does not have")
def _no_type(tmp_path, world):
    res, out = _cohort(tmp_path, world, campaign_type="C")
    return res, out, ("cohort.campaign_type", "'C'")


@case("campaigns of the type without members")
def _no_members(tmp_path, world):
    w = dict(world)
    w["campaign_members"] = world["campaign_members"][world["campaign_members"].campaign_id == 9]
    res, out = _cohort(tmp_path, w)
    return res, out, ("cohort.campaign_type", "no household is a member")


@case("a campaign with no eligible controls")
def _no_controls(tmp_path, world):
    w = dict(world)
    everyone = pd.DataFrame({"campaign_id": 1, "household_id": np.arange(1, 61)})
    w["campaign_members"] = pd.concat([everyone, world["campaign_members"][world["campaign_members"].campaign_id == 9]])
    res, out = _cohort(tmp_path, w, campaigns=[1])
    return res, out, ("no control units",)


@case("a results table read before its stage ran")
def _out_of_order(tmp_path, world):
    out = tmp_path / "positivity_out"
    res = run_script("positivity.py", "--params", str(write_params(tmp_path / "params.yaml")), "--cohort",
                     str(tmp_path / "cohort.csv"), "--tables-dir", str(out), "--figures-dir", str(tmp_path / "fig"),
                     "--metrics", str(tmp_path / "m.json"), cwd=tmp_path)
    return res, tmp_path / "m.json", ("cohort.csv", "file not found", "run the stage that writes it first")


@case("a directory where a results table should be")
def _directory(tmp_path, world):
    (tmp_path / "cohort.csv").mkdir()
    res = run_script("positivity.py", "--params", str(write_params(tmp_path / "params.yaml")), "--cohort",
                     str(tmp_path / "cohort.csv"), "--tables-dir", str(tmp_path / "t"), "--figures-dir", str(tmp_path / "fig"),
                     "--metrics", str(tmp_path / "m.json"), cwd=tmp_path)
    return res, tmp_path / "m.json", ("cohort.csv", "is a folder")


@case("k above the number of households")
def _k_too_big(tmp_path, world):
    rng = np.random.default_rng(0)
    feats = pd.DataFrame(rng.random((12, 6)), columns=["share_grocery", "share_fresh", "share_bakery", "recency",
                                                       "frequency", "monetary_sales"])
    feats.insert(0, "household_id", np.arange(1, 13))
    path = tmp_path / "features.csv"
    feats.to_csv(path, index=False)
    params = write_params(tmp_path / "params.yaml", segmentation={"features": ["share_grocery", "share_fresh", "share_bakery"],
                                                                 "k_rule": "fixed", "k_fixed": 20, "k_max": 20})
    out = tmp_path / "segments"
    res = run_script("segment.py", "--params", str(params), "--features", str(path), "--tables-dir", str(out),
                     "--figures-dir", str(tmp_path / "fig"), "--metrics", str(tmp_path / "m.json"), cwd=tmp_path)
    return res, tmp_path / "m.json", ("only 12 households", "segmentation.k_max (20)")


@case("a tampered segment model file")
def _tampered(tmp_path, world):
    model = tmp_path / "segmentation.json"
    model.write_text('{"format": "segtarget-segment-model", "sha256": "0", "model": {}}')
    feats = tmp_path / "features.csv"
    pd.DataFrame({"household_id": [1]}).to_csv(feats, index=False)
    out = tmp_path / "assigned.csv"
    res = run_script("assign_segments.py", "--model", str(model), "--features", str(feats), "--out", str(out), cwd=tmp_path)
    return res, out, ("segmentation.json",)


@case("policy margin of zero")
def _margin(tmp_path, world):
    params = write_params(tmp_path / "params.yaml", policy={"margin": 0.0})
    out = tmp_path / "policy.csv"
    res = run_script("policy.py", "--params", str(params), "--comparison", str(out), cwd=tmp_path)
    return res, out, ("policy.margin",)


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_gives_one_line_error_and_writes_nothing(name, tmp_path, world):
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}
    res, out, needles = CASES[name](tmp_path, world)
    line = _expect_one_line_error(res, *needles)
    assert not Path(out).exists() or Path(out).is_dir() and not any(Path(out).iterdir()) or Path(out) in before, \
        f"{out} was written"
    REPORT.append((name, line.removeprefix("error: ")))
    report = os.environ.get("SEGTARGET_BAD_INPUT_REPORT")
    if report:
        with open(report, "a", encoding="utf-8") as fh:
            fh.write(f"| {name} | {line.removeprefix('error: ').replace('|', '/')} |\n")

