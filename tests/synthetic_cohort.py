"""Test helpers for Track 2 recovery checks: synthetic data -> cohort -> estimates -> known truth.

The chain is the workflow's own: :func:`segtarget.data.synthetic.generate` (dunnhumby-format CSVs
plus the generator's truth), :func:`segtarget.data.ingest.ingest` (canonical parquet tables),
:func:`segtarget.track2.cohort.build_cohort` (stacked not-yet-treated design),
:func:`segtarget.track2.positivity.run_positivity` (cross-fitted propensity) and
:func:`segtarget.track2.ate.estimate_all` (the ATE estimators, called as
:func:`segtarget.track2.ate.run_ate` calls it, restricted to the methods under test for speed).

The estimand (:func:`true_unit_effects`)
---------------------------------------
A unit is a (household, campaign) pair. Its true effect on an outcome is the extra amount
that being targeted by *its* campaign c adds over *its* outcome window: the household's
per-week effect (``truth.csv``: ``tau_count_per_week``, ``tau_amount_per_week``) times the
number of weeks of c's effect window (campaign weeks + ``effect_post_weeks``, clipped at the
data end: ``truth_campaigns.csv``: ``start_day``..``window_end_day``) that fall inside the
unit's outcome window ``outcome_start``..``outcome_end``. The true ATE of a population is
the mean of its units' true effects; treated and control units count alike (an ATE, not an
ATT). Effects of *other* campaigns are not part of it: the design must keep them out of the
comparison (controls treated inside the window are dropped).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from segtarget.track2 import ate as A
from segtarget.track2 import cohort as C
from segtarget import features as F
from segtarget.data import ingest as I
from segtarget.core import params
from segtarget.track2 import positivity as POS
from segtarget.data import synthetic as syn
from segtarget.core.paths import interim
from segtarget.data.schemas import CAMPAIGN, HOUSEHOLD

OUTCOMES = ("purchase_count", "purchase_amount")
#: Per-week effect column of truth.csv for each outcome.
PER_WEEK = {"purchase_count": "tau_count_per_week", "purchase_amount": "tau_amount_per_week"}

_SCHEMA = params.load_schema()["properties"]


def section(name: str, **over) -> dict:
    """A params section from the schema defaults, with ``over`` replacing keys."""
    sec = {k: v["default"] for k, v in _SCHEMA[name]["properties"].items()}
    unknown = set(over) - set(sec)
    if unknown:
        raise KeyError(f"{name}: unknown keys {sorted(unknown)}")
    return {**sec, **over}


def make_data(root: Path, synth: dict) -> Path:
    """Generate the synthetic retailer under ``root/raw`` and ingest it into ``root/interim``."""
    root = Path(root)
    syn.generate(synth, root / "raw")
    I.ingest({"source": "synthetic"}, root / "interim", root / "data_summary.csv", synthetic_dir=root / "raw")
    return root


def build(root: Path, **cohort_over) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The stacked cohort (and its flow table) of the data under ``root``."""
    con = F.connect("duckdb", 1, "1GB")
    tables = C.load_tables(con, Path(root) / "interim")
    return C.build_cohort(con, tables, section("cohort", **cohort_over), section("features"))


def read_truth(raw: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """truth.csv and truth_campaigns.csv with the canonical key names."""
    keys = {"household_key": HOUSEHOLD, "CAMPAIGN": CAMPAIGN}
    truth = pd.read_csv(Path(raw) / "truth.csv").rename(columns=keys)
    per_campaign = pd.read_csv(Path(raw) / "truth_campaigns.csv").rename(columns=keys)
    return truth, per_campaign


def effect_windows(per_campaign: pd.DataFrame) -> pd.DataFrame:
    """One row per Type A campaign: campaign_id, effect_start, effect_end (days, inclusive)."""
    w = per_campaign[[CAMPAIGN, "start_day", "window_end_day"]].drop_duplicates()
    if w[CAMPAIGN].duplicated().any():
        raise ValueError("truth_campaigns.csv: a campaign has several effect windows")
    return w.rename(columns={"start_day": "effect_start", "window_end_day": "effect_end"}).reset_index(drop=True)


def true_unit_effects(units: pd.DataFrame, truth: pd.DataFrame, windows: pd.DataFrame) -> pd.DataFrame:
    """True effect of each unit's own campaign over its own outcome window.

    Parameters
    ----------
    units : household_id, campaign_id, outcome_start, outcome_end (cohort rows, any order).
    truth : truth.csv (household_id, tau_count_per_week, tau_amount_per_week).
    windows : :func:`effect_windows` (campaign_id, effect_start, effect_end).

    Returns
    -------
    DataFrame aligned with ``units`` (same index): effect_weeks (days of the effect window
    inside the outcome window / 7) and one column per outcome of :data:`OUTCOMES`.

    Examples
    --------
    >>> units = pd.DataFrame({"household_id": [1], "campaign_id": [9], "outcome_start": [8], "outcome_end": [63]})
    >>> truth = pd.DataFrame({"household_id": [1], "tau_count_per_week": [0.5], "tau_amount_per_week": [10.0]})
    >>> windows = pd.DataFrame({"campaign_id": [9], "effect_start": [8], "effect_end": [49]})
    >>> true_unit_effects(units, truth, windows).round(2).values.tolist()
    [[6.0, 3.0, 60.0]]
    """
    u = units[[HOUSEHOLD, CAMPAIGN, "outcome_start", "outcome_end"]].reset_index(drop=True)
    u = u.merge(windows, on=CAMPAIGN, how="left", validate="many_to_one")
    if u["effect_start"].isna().any():
        raise ValueError("units: a campaign has no effect window in truth_campaigns.csv")
    per_week = truth.set_index(HOUSEHOLD)[list(PER_WEEK.values())]
    missing = ~u[HOUSEHOLD].isin(per_week.index)
    if missing.any():
        raise ValueError(f"units: household {u.loc[missing, HOUSEHOLD].iloc[0]} not in truth.csv")
    lo = np.maximum(u["outcome_start"], u["effect_start"])
    hi = np.minimum(u["outcome_end"], u["effect_end"])
    weeks = np.maximum(hi - lo + 1, 0).to_numpy(dtype="float64") / 7.0
    out = pd.DataFrame({"effect_weeks": weeks}, index=units.index)
    pw = per_week.loc[u[HOUSEHOLD].to_numpy()]
    for outcome, col in PER_WEEK.items():
        out[outcome] = pw[col].to_numpy() * weeks
    return out


def never_treated_design(cohort: pd.DataFrame, root: Path, campaign_type: str = "A") -> pd.DataFrame:
    """The original project's design: the same cohort, minus controls ever targeted later.

    Membership comes from the canonical tables (what an analyst sees), not from the truth.
    """
    camps = pd.read_parquet(interim("campaigns", Path(root) / "interim"))
    members = pd.read_parquet(interim("campaign_members", Path(root) / "interim"))
    typed = members.merge(camps.loc[camps.campaign_type == campaign_type, [CAMPAIGN]], on=CAMPAIGN)
    ever = set(typed[HOUSEHOLD])
    keep = (cohort["treated"] == 1) | ~cohort[HOUSEHOLD].isin(ever)
    return cohort.loc[keep].reset_index(drop=True)


def estimate(cohort: pd.DataFrame, unit_truth: pd.DataFrame, *, methods=("naive", "aipw"),
             populations=("full", "trimmed"), n_splits: int = 3, outcome_model: str = "ridge",
             seed: int = 42) -> tuple[pd.DataFrame, dict]:
    """Positivity stage + ATE estimators; each row gets the true ATE of its population.

    Mirrors :func:`segtarget.track2.ate.run_ate` (propensity from the positivity stage, trimming
    band and Crump rule from the params defaults), with fewer folds and the ridge outcome
    model so that a test runs in seconds.

    Returns the ATE table (plus columns ``truth``, ``bias``, ``z`` = bias / se, ``covered``)
    and the positivity stage's metrics.
    """
    pos_sec = section("positivity", n_splits=n_splits)
    ate_sec = section("ate")
    pos = POS.run_positivity(cohort, pos_sec)
    keys = [HOUSEHOLD, CAMPAIGN]
    df = cohort.merge(pos.scores[keys + ["propensity"]], on=keys, how="left", validate="one_to_one")
    e = df["propensity"].to_numpy()
    table = A.estimate_all(
        df, list(OUTCOMES), C.covariate_columns(cohort), propensity=e, methods=methods, populations=populations,
        trim=(ate_sec["trim_low"], ate_sec["trim_high"]), crump_rule=pos_sec["crump_rule"],
        outcome_model=outcome_model, n_splits=n_splits, n_bootstrap=20,
        ipw_clip=pos_sec["ipw_clip"] or None, seed=seed,
    )
    alpha = table["ps_low"]  # the band each population was defined by
    truth = []
    for outcome, low, high in zip(table["outcome"], alpha, table["ps_high"]):
        mask = (e >= low) & (e <= high)
        truth.append(float(unit_truth.loc[mask, outcome].mean()))
    table["truth"] = truth
    table["bias"] = table["estimate"] - table["truth"]
    table["z"] = table["bias"] / table["se"]
    table["covered"] = (table["ci_low"] <= table["truth"]) & (table["truth"] <= table["ci_high"])
    return table, pos.metrics


def row(table: pd.DataFrame, outcome: str, method: str, population: str) -> pd.Series:
    """The single row of an ATE table for (outcome, method, population)."""
    r = table.loc[(table.outcome == outcome) & (table.method == method) & (table.population == population)]
    assert len(r) == 1, (outcome, method, population)
    return r.iloc[0]
