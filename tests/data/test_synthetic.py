"""The synthetic retailer: format, reproducibility, confounded targeting and a real effect."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conftest import run_script, write_params
from segtarget.data import schemas
from segtarget.data import synthetic as syn
from segtarget.core.errors import ParamError

BASE = {"households": 240, "weeks": 36, "seed": 11, "campaigns_a": 3, "campaigns_b": 4, "campaigns_c": 2,
        "first_campaign_week": 12, "effect_post_weeks": 3}
VARIANTS = {
    "base": {},
    "again": {},
    "other_seed": {"seed": 12},
    "random_targeting": {"confounding": 0.0},
    "no_repeat": {"repeat_targeting": False},
    "big_effect": {"effect_shape": "constant", "effect_baskets_per_week": 1.5},
}
HEADERS = {
    "transaction_data.csv": list(syn.TX_COLUMNS),
    "product.csv": ["PRODUCT_ID", "MANUFACTURER", "DEPARTMENT", "BRAND", "COMMODITY_DESC", "SUB_COMMODITY_DESC",
                    "CURR_SIZE_OF_PRODUCT"],
    "hh_demographic.csv": ["AGE_DESC", "MARITAL_STATUS_CODE", "INCOME_DESC", "HOMEOWNER_DESC", "HH_COMP_DESC",
                           "HOUSEHOLD_SIZE_DESC", "KID_CATEGORY_DESC", "household_key"],
    "campaign_desc.csv": ["DESCRIPTION", "CAMPAIGN", "START_DAY", "END_DAY"],
    "campaign_table.csv": ["DESCRIPTION", "household_key", "CAMPAIGN"],
    "coupon.csv": ["COUPON_UPC", "PRODUCT_ID", "CAMPAIGN"],
    "coupon_redempt.csv": ["household_key", "DAY", "COUPON_UPC", "CAMPAIGN"],
    "causal_data.csv": ["PRODUCT_ID", "STORE_ID", "WEEK_NO", "display", "mailer"],
}


@pytest.fixture(scope="module")
def gen(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic")
    out = {}
    for name, extra in VARIANTS.items():
        folder = root / name
        syn.write_synthetic({"source": "synthetic"}, {**BASE, **extra}, folder)
        out[name] = folder
    return out


def _read(folder, name):
    return pd.read_csv(folder / name, keep_default_na=False)


def _campaigns(folder):
    desc = _read(folder, "campaign_desc.csv")
    return desc[desc.DESCRIPTION == "TypeA"].sort_values("START_DAY")


def _baskets(folder):
    tx = _read(folder, "transaction_data.csv")
    return tx.groupby("BASKET_ID").agg(hh=("household_key", "first"), day=("DAY", "min"), value=("SALES_VALUE", "sum"))


def test_files_and_headers(gen):
    folder = gen["base"]
    for name, cols in HEADERS.items():
        assert (folder / name).read_text().splitlines()[0].split(",") == cols, name
    manifest = json.loads((folder / "MANIFEST.json").read_text())
    for name, rows in manifest["rows"].items():
        assert len(_read(folder, name)) == rows, name
    assert manifest["params"]["households"] == BASE["households"] and manifest["requested"] is True


def test_reproducible_and_seed_sensitive(gen):
    for name in list(HEADERS) + ["truth.csv", "truth_campaigns.csv", "MANIFEST.json"]:
        assert (gen["base"] / name).read_bytes() == (gen["again"] / name).read_bytes(), name
    tx = "transaction_data.csv"
    assert (gen["base"] / tx).read_bytes() != (gen["other_seed"] / tx).read_bytes()


def test_households_match_truth(gen):
    folder = gen["base"]
    tx_hh = set(_read(folder, "transaction_data.csv").household_key)
    truth = _read(folder, "truth.csv")
    assert tx_hh == set(truth.household_key) == set(range(1, BASE["households"] + 1))
    demo = _read(folder, "hh_demographic.csv")
    assert set(demo.household_key) <= tx_hh and 0.15 < len(demo) / len(truth) < 0.5
    per = _read(folder, "truth_campaigns.csv")
    assert len(per) == len(truth) * BASE["campaigns_a"]
    assert set(per.CAMPAIGN) == set(_campaigns(folder).CAMPAIGN)


def test_transaction_quirks(gen):
    tx = _read(gen["base"], "transaction_data.csv")
    disc = tx[["RETAIL_DISC", "COUPON_DISC", "COUPON_MATCH_DISC"]]
    assert (disc <= 0).all().all() and (disc < 0).any().all()
    assert (tx.WEEK_NO == (tx.DAY - 1) // 7 + 1).all()
    assert tx.DAY.min() == 1 and tx.DAY.max() <= 7 * BASE["weeks"]
    assert ((tx.TRANS_TIME >= 0) & (tx.TRANS_TIME % 100 < 60) & (tx.TRANS_TIME < 2400)).all()
    days = tx.groupby("BASKET_ID").DAY.agg(["min", "max"])
    spans = days[days["max"] > days["min"]]
    assert len(spans) > 0 and ((spans["max"] - spans["min"]) == 1).all()
    assert (tx.QUANTITY == 0).any() and (tx.QUANTITY >= 0).all() and (tx.SALES_VALUE >= 0).all()
    products = _read(gen["base"], "product.csv")
    fuel = tx.merge(products, on="PRODUCT_ID").query("DEPARTMENT == 'KIOSK-GAS' and QUANTITY > 1000")
    assert len(fuel) > 0
    assert (products.DEPARTMENT == "").any() and set(products.BRAND) == {"National", "Private"}
    assert set(tx.PRODUCT_ID) <= set(products.PRODUCT_ID)


def test_side_tables(gen):
    folder = gen["base"]
    desc = _read(folder, "campaign_desc.csv")
    assert desc.DESCRIPTION.value_counts().to_dict() == {
        "TypeA": BASE["campaigns_a"], "TypeB": BASE["campaigns_b"], "TypeC": BASE["campaigns_c"]}
    assert (desc.START_DAY >= 7 * (BASE["first_campaign_week"] - 1) + 1).all()
    assert (desc.END_DAY >= desc.START_DAY).all() and (desc.END_DAY <= 7 * BASE["weeks"]).all()
    causal = _read(folder, "causal_data.csv").astype({"display": str, "mailer": str})
    assert set(causal.display) <= set(syn.DISPLAY_CODES) and set(causal.mailer) <= set(syn.MAILER_CODES)
    assert not ((causal.display == "0") & (causal.mailer == "0")).any()
    red = _read(folder, "coupon_redempt.csv").merge(desc, on="CAMPAIGN")
    assert len(red) > 0 and red.DAY.between(red.START_DAY, red.END_DAY).all()
    members = _read(folder, "campaign_table.csv")
    assert set(zip(red.household_key, red.CAMPAIGN)) <= set(zip(members.household_key, members.CAMPAIGN))
    coupons = _read(folder, "coupon.csv")
    assert set(zip(red.COUPON_UPC, red.CAMPAIGN)) <= set(zip(coupons.COUPON_UPC, coupons.CAMPAIGN))
    # each redemption shows up as a coupon-discounted line of a coupon product on that day
    tx = _read(folder, "transaction_data.csv")
    lines = tx[tx.COUPON_DISC < 0].merge(coupons, on="PRODUCT_ID")
    found = red.merge(lines, left_on=["household_key", "DAY", "COUPON_UPC"],
                      right_on=["household_key", "DAY", "COUPON_UPC"])
    assert found[["household_key", "DAY", "COUPON_UPC"]].drop_duplicates().shape[0] == \
        red[["household_key", "DAY", "COUPON_UPC"]].drop_duplicates().shape[0]


def test_dunnhumby_adapter_reads_it(gen, tmp_path):
    """The ingest stage reads the generated files, every line passes the canonical rules, and
    every pandera schema accepts the canonical tables it writes."""
    from segtarget.data.ingest import ingest

    summary = ingest({"source": "synthetic"}, tmp_path / "interim", tmp_path / "summary.csv", synthetic_dir=gen["base"])
    tables = summary.set_index("table")
    assert tables.loc["transactions", "rows"] == len(_read(gen["base"], "transaction_data.csv"))
    for table, schema in schemas.SCHEMAS.items():
        schema.validate(pd.read_parquet(tmp_path / "interim" / f"{table}.parquet"))


def _pre_spend_gap(folder):
    """Standardised difference in log pre-campaign sales, targeted minus not, stacked over Type A."""
    tx = _read(folder, "transaction_data.csv")
    members = _read(folder, "campaign_table.csv")
    n = BASE["households"]
    diffs = []
    for camp in _campaigns(folder).itertuples():
        pre = tx[tx.DAY < camp.START_DAY].groupby("household_key").SALES_VALUE.sum()
        x = np.log1p(pre.reindex(range(1, n + 1), fill_value=0.0))
        treated = x.index.isin(members.loc[members.CAMPAIGN == camp.CAMPAIGN, "household_key"])
        diffs.append((x[treated].mean() - x[~treated].mean()) / x.std())
    return float(np.mean(diffs))


def test_targeting_is_confounded_only_when_asked(gen):
    confounded = _pre_spend_gap(gen["base"])
    random = _pre_spend_gap(gen["random_targeting"])
    assert confounded > 0.5
    assert abs(random) < 0.3 and confounded - random > 0.4


def test_target_share_and_propensities(gen):
    folder = gen["base"]
    truth, per = _read(folder, "truth.csv"), _read(folder, "truth_campaigns.csv")
    share = float(pd.read_json(folder / "MANIFEST.json", typ="series")["params"]["target_share_a"])
    ever = (truth.n_targeted_a > 0).mean()
    assert abs(ever - share) < 0.1 and abs(truth.true_propensity.mean() - share) < 0.1
    assert per.propensity.between(0, 1).all()
    for _, g in per.groupby("CAMPAIGN"):  # realised targeting agrees with the stated probabilities
        expected, sd = g.propensity.sum(), np.sqrt((g.propensity * (1 - g.propensity)).sum())
        assert abs(g.targeted.sum() - expected) < 4 * sd + 1
    members = _read(folder, "campaign_table.csv")
    a = members[members.DESCRIPTION == "TypeA"]
    assert set(zip(a.household_key, a.CAMPAIGN)) == set(zip(per.household_key[per.targeted == 1],
                                                                per.CAMPAIGN[per.targeted == 1]))


def test_no_repeat_targeting(gen):
    members = _read(gen["no_repeat"], "campaign_table.csv")
    assert members[members.DESCRIPTION == "TypeA"].groupby("household_key").size().max() == 1
    per = _read(gen["no_repeat"], "truth_campaigns.csv").merge(
        _campaigns(gen["no_repeat"])[["CAMPAIGN", "START_DAY"]], on="CAMPAIGN")
    first = per[per.targeted == 1].groupby("household_key").START_DAY.min()
    later = per.merge(first.rename("first_day"), on="household_key")
    assert (later.loc[later.START_DAY > later.first_day, "propensity"] == 0).all()
    members_rep = _read(gen["base"], "campaign_table.csv")
    assert members_rep[members_rep.DESCRIPTION == "TypeA"].groupby("household_key").size().max() > 1


def _did(folder):
    """First Type A campaign: (window rate - own pre rate), targeted minus never-targeted households."""
    b = _baskets(folder)
    camp = _campaigns(folder).iloc[0]
    per = _read(folder, "truth_campaigns.csv")
    window = per[per.CAMPAIGN == camp.CAMPAIGN].iloc[0]
    n_weeks = (window.window_end_day - camp.START_DAY + 1) / 7
    pre_start = camp.START_DAY - 7 * 8
    keys = range(1, BASE["households"] + 1)
    during = b[b.day.between(camp.START_DAY, window.window_end_day)].groupby("hh").size().reindex(keys, fill_value=0)
    pre = b[b.day.between(pre_start, camp.START_DAY - 1)].groupby("hh").size().reindex(keys, fill_value=0)
    change = during / n_weeks - pre / 8
    members = _read(folder, "campaign_table.csv")
    a = members[members.DESCRIPTION == "TypeA"]
    treated = change.index.isin(a.loc[a.CAMPAIGN == camp.CAMPAIGN, "household_key"])
    never = ~change.index.isin(a.household_key)
    return change[treated].mean() - change[never].mean()


def test_effect_is_real(gen):
    big, base = _did(gen["big_effect"]), _did(gen["base"])
    effect = VARIANTS["big_effect"]["effect_baskets_per_week"]
    assert big > 0.5 * effect and big - base > 0.5 * effect


def test_truth_is_consistent(gen):
    folder = gen["big_effect"]
    truth, per = _read(folder, "truth.csv"), _read(folder, "truth_campaigns.csv")
    effect = VARIANTS["big_effect"]["effect_baskets_per_week"]
    weeks = (per.window_end_day - per.start_day + 1) / 7
    assert np.allclose(per.tau_count, effect * weeks)
    merged = per.merge(truth[["household_key", "mean_basket_value"]], on="household_key")
    assert np.allclose(merged.tau_amount, merged.tau_count * merged.mean_basket_value)
    assert np.allclose(truth.tau_amount, truth.tau_count * truth.mean_basket_value)
    # the expected basket value the truth uses is the one the baskets actually have
    b = _baskets(gen["base"]).merge(_read(gen["base"], "truth.csv"), left_on="hh", right_on="household_key")
    assert abs(b.value.mean() / b.mean_basket_value.mean() - 1) < 0.05


def test_effect_shapes():
    s = syn.settings({**BASE, "households": 400})
    cat, stores = syn.make_catalog(s), syn.make_stores(s)
    hh = syn.make_households(s, cat, stores)
    mean = s["effect_baskets_per_week"]
    for shape in ("constant", "linear", "heterogeneous"):
        tau = syn.effect_per_week({**s, "effect_shape": shape}, hh)
        assert tau.mean() == pytest.approx(mean)
    assert not syn.effect_per_week({**s, "effect_shape": "none"}, hh).any()
    lin = syn.effect_per_week({**s, "effect_shape": "linear"}, hh)
    assert (lin < 0).any() and np.corrcoef(lin, hh.deal)[0, 1] > 0.99
    het = syn.effect_per_week({**s, "effect_shape": "heterogeneous"}, hh)
    deal_prone = hh.deal > np.quantile(hh.deal, 0.75)
    assert het[deal_prone].mean() > 2 * het[hh.deal < np.quantile(hh.deal, 0.25)].mean()


def test_not_requested_writes_only_manifest(tmp_path):
    out = tmp_path / "synthetic"
    out.mkdir()
    (out / "transaction_data.csv").write_text("old\n")
    manifest = syn.write_synthetic({"source": "completejourney"}, BASE, out)
    assert [p.name for p in out.iterdir()] == ["MANIFEST.json"]
    assert manifest["requested"] is False
    assert json.loads((out / "MANIFEST.json").read_text())["data_source"] == "completejourney"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["synthetic"]


def test_failure_leaves_previous_output(tmp_path, monkeypatch):
    out = tmp_path / "synthetic"
    syn.write_synthetic({"source": "completejourney"}, BASE, out)
    before = (out / "MANIFEST.json").read_bytes()

    def boom(*args, **kwargs):
        raise RuntimeError("killed")

    monkeypatch.setattr("segtarget.data.synthetic.writer.make_truth", boom)  # where generate() looks it up
    with pytest.raises(RuntimeError):
        syn.write_synthetic({"source": "synthetic"}, {**BASE, "households": 30, "weeks": 14,
                                                      "first_campaign_week": 6}, out)
    assert (out / "MANIFEST.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["synthetic"]


def test_bad_calendar_is_a_param_error():
    with pytest.raises(ParamError, match="synthetic.first_campaign_week"):
        syn.settings({"weeks": 20, "first_campaign_week": 32})


def test_script(tmp_path):
    params = write_params(tmp_path / "params.yaml", data={"source": "synthetic"},
                          synthetic={"households": 30, "weeks": 12, "first_campaign_week": 5,
                                     "campaigns_a": 1, "campaigns_b": 1, "campaigns_c": 1})
    res = run_script("synthetic.py", "--params", str(params), "--out-dir", str(tmp_path / "out"),
                     "--log", str(tmp_path / "log.txt"))
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "out" / "truth.csv").exists() and (tmp_path / "log.txt").exists()
    bad = write_params(tmp_path / "bad.yaml", data={"source": "synthetic"}, synthetic={"weeks": 20})
    res = run_script("synthetic.py", "--params", str(bad), "--out-dir", str(tmp_path / "out"))
    assert res.returncode == 2 and "synthetic.first_campaign_week" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert (tmp_path / "out" / "truth.csv").exists()
