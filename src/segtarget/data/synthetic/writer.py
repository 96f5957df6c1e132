"""Writing the synthetic retailer: the CSV files and manifest, and the atomic `synthetic` stage.

:func:`generate` runs the whole generator into a folder, appending transaction lines to the
CSV as they are simulated; :func:`write_synthetic` (the stage) builds into a temporary folder
and swaps it in.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.csv as pacsv

from segtarget.core.io import FLOAT_FORMAT, write_json
from segtarget.data.synthetic.calendar import make_calendar, make_coupons, settings
from segtarget.data.synthetic.catalog import make_catalog, make_stores
from segtarget.data.synthetic.households import BLOCK, effect_per_week, make_households
from segtarget.data.synthetic.simulation import World, _fuel_prices, _segments, _simulate, _target
from segtarget.data.synthetic.truth import make_demographics, make_promotions, make_truth

log = logging.getLogger(__name__)

#: Bumped whenever the generated data change for the same parameters.
VERSION = 1

TX_COLUMNS = ("household_key", "BASKET_ID", "DAY", "PRODUCT_ID", "QUANTITY", "SALES_VALUE", "STORE_ID",
              "RETAIL_DISC", "TRANS_TIME", "WEEK_NO", "COUPON_DISC", "COUPON_MATCH_DISC")
FILES = ("transaction_data.csv", "product.csv", "hh_demographic.csv", "campaign_desc.csv",
         "campaign_table.csv", "coupon.csv", "coupon_redempt.csv", "causal_data.csv",
         "truth.csv", "truth_campaigns.csv")


# ------------------------------------------------------------------------------------------
# writing
# ------------------------------------------------------------------------------------------
def _csv(df: pd.DataFrame, path: Path) -> int:
    df.to_csv(path, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
    return len(df)


def generate(params_synth: dict, folder: str | os.PathLike) -> dict:
    """Generate the synthetic retailer into ``folder`` (not atomic); return the manifest.

    Use :func:`write_synthetic` in stages: it builds into a temporary folder and swaps it in.
    """
    s = settings(params_synth)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    n, weeks = s["households"], s["weeks"]
    log.info("synthetic: %d households x %d weeks, seed %d", n, weeks, s["seed"])
    cal = make_calendar(s)
    cat = make_catalog(s)
    stores = make_stores(s)
    hh = make_households(s, cat, stores)
    k = len(cal)
    w = World(
        s=s, cal=cal, cat=cat, stores=stores, hh=hh, coupons=make_coupons(s, cal, cat),
        tau=effect_per_week(s, hh), fuel_price=_fuel_prices(s),
        effect=np.zeros((n, weeks)), spend=np.zeros((n, weeks)), visits=np.zeros((n, weeks), np.int64),
        member=np.zeros((n, k), bool), propensity=np.zeros((n, k)), propensity_all=np.zeros((n, k)),
    )
    schema = None
    with open(folder / "transaction_data.csv", "wb") as fh:
        fh.write((",".join(TX_COLUMNS) + "\n").encode())
        writer = None
        for seg, (w0, w1) in enumerate(_segments(s, cal)):
            for col in np.flatnonzero((cal["start_week"] == w0).to_numpy()):
                _target(w, int(col))
            for h0 in range(0, n, BLOCK):
                table = _simulate(w, h0, min(h0 + BLOCK, n), w0, w1, seg)
                if writer is None:
                    schema = table.schema
                    writer = pacsv.CSVWriter(fh, schema, write_options=pacsv.WriteOptions(
                        include_header=False, quoting_style="none"))
                writer.write_table(table)
            log.info("synthetic: weeks %d-%d done, %d lines so far", w0, w1 - 1, w.lines_written)
        if writer is not None:
            writer.close()
    rows = {"transaction_data.csv": w.lines_written}
    rows["product.csv"] = _csv(cat.table.sort_values("PRODUCT_ID", kind="stable"), folder / "product.csv")
    rows["hh_demographic.csv"] = _csv(make_demographics(s, hh), folder / "hh_demographic.csv")
    desc = pd.DataFrame({
        "DESCRIPTION": "Type" + cal["kind"], "CAMPAIGN": cal["campaign"],
        "START_DAY": cal["start_day"], "END_DAY": cal["end_day"],
    }).sort_values("CAMPAIGN", kind="stable")
    rows["campaign_desc.csv"] = _csv(desc, folder / "campaign_desc.csv")
    hi, ci = np.nonzero(w.member)
    members = pd.DataFrame({
        "DESCRIPTION": ("Type" + cal["kind"]).to_numpy()[ci], "household_key": hi + 1,
        "CAMPAIGN": cal["campaign"].to_numpy()[ci],
    }).sort_values(["CAMPAIGN", "household_key"], kind="stable")
    rows["campaign_table.csv"] = _csv(members, folder / "campaign_table.csv")
    rows["coupon.csv"] = _csv(w.coupons.table, folder / "coupon.csv")
    red_cols = ["household_key", "DAY", "COUPON_UPC", "CAMPAIGN"]
    red = pd.concat(w.redemptions, ignore_index=True) if w.redemptions else pd.DataFrame(columns=red_cols)
    red = red.sort_values(red_cols, kind="stable")
    rows["coupon_redempt.csv"] = _csv(red, folder / "coupon_redempt.csv")
    if s["promotions"]:
        rows["causal_data.csv"] = _csv(make_promotions(s, cat, stores), folder / "causal_data.csv")
    truth, per_campaign = make_truth(w)
    rows["truth.csv"] = _csv(truth, folder / "truth.csv")
    rows["truth_campaigns.csv"] = _csv(per_campaign, folder / "truth_campaigns.csv")
    a = (cal["kind"] == "A").to_numpy()
    manifest = {
        "generator": "segtarget.data.synthetic",
        "version": VERSION,
        "requested": True,
        "data_source": "synthetic",
        "params": s,
        "rows": rows,
        "households": n,
        "weeks": weeks,
        "days": 7 * weeks,
        "baskets": w.next_basket,
        "campaigns": {kind: int((cal["kind"] == kind).sum()) for kind in "ABC"},
        "ever_targeted_a_share": float(w.member[:, a].any(axis=1).mean()) if a.any() else 0.0,
        "mean_tau_count_per_week": float(w.tau.mean()),
        "notes": [
            "truth.csv and truth_campaigns.csv are the generator's truth, not part of the dunnhumby format",
            "Type B and C campaigns are targeted on past behaviour but have no effect on purchases",
            "Type A campaigns start on the first day of a week and end on the last day of a week",
        ],
    }
    write_json(manifest, folder / "MANIFEST.json")
    log.info("synthetic: %d lines, %d baskets, %d redemptions",
             w.lines_written, w.next_basket, rows["coupon_redempt.csv"])
    return manifest


def _publish_modes(folder: Path) -> None:
    """Give the built folder and its files the usual permissions (mkdtemp/mkstemp use 0700/0600)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(folder, 0o777 & ~umask)
    for f in folder.iterdir():
        os.chmod(f, 0o666 & ~umask)


def _swap_in(tmp: Path, out: Path) -> None:
    """Replace folder ``out`` by ``tmp`` (renames only; the old folder survives a failure)."""
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.rmdir(old)
        os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        if old is not None:
            os.replace(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_synthetic(params_data: dict, params_synth: dict, out_dir: str | os.PathLike) -> dict:
    """The `synthetic` stage: generate into ``out_dir`` atomically; return the manifest.

    When ``data.source`` is not ``synthetic`` the folder holds only ``MANIFEST.json`` saying
    that generation was not requested, so the stage costs nothing for the other sources.
    The data are built in a temporary folder next to ``out_dir`` and swapped in at the end;
    if anything fails, the previous ``out_dir`` is left as it was.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "synthetic"
    >>> m = write_synthetic({"source": "synthetic"}, {"households": 60, "weeks": 20,
    ...     "first_campaign_week": 6, "campaigns_a": 2, "campaigns_b": 2, "campaigns_c": 1}, out)
    >>> m["requested"], m["rows"]["truth.csv"]
    (True, 60)
    """
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    source = (params_data or {}).get("source", "completejourney")
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        if source == "synthetic":
            manifest = generate(params_synth, tmp)
        else:
            manifest = {
                "generator": "segtarget.data.synthetic",
                "version": VERSION,
                "requested": False,
                "data_source": source,
                "note": f"synthetic data not generated: data.source is {source!r}, not 'synthetic'",
                "rows": {},
            }
            write_json(manifest, tmp / "MANIFEST.json")
        _publish_modes(tmp)
        _swap_in(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return manifest
