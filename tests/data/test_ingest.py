"""The ingest stage: each adapter on hand-made fixtures, the summary, and bad parameters.

Bad and messy input files (one-line counted errors, warnings, encodings, header variants):
``test_ingest_input.py``.
"""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import run_script, write_dunnhumby, write_params
from segtarget.core.errors import InputError
from segtarget.core.paths import CANONICAL_TABLES
from segtarget.data import ingest as ing
from segtarget.data import schemas


def _ingest(tmp_path, folder, **data):
    out = tmp_path / "interim"
    summary = ing.ingest({"source": "dunnhumby", "dunnhumby_dir": str(folder), **data}, out, tmp_path / "summary.csv")
    return {t: pd.read_parquet(out / f"{t}.parquet") for t in CANONICAL_TABLES}, summary


def test_dunnhumby_adapter_values(tmp_path, dunnhumby_dir):
    t, summary = _ingest(tmp_path, dunnhumby_dir)
    tx = t["transactions"]
    # 7 lines, one dropped: household 2's line with a positive RETAIL_DISC is an artifact.
    assert len(tx) == 6
    assert set(tx.household_id) == {1, 2, 3}
    first = tx.iloc[0]
    assert (first.retail_disc, first.coupon_disc) == (0.5, 0.0)  # negated
    second = tx.iloc[1]
    assert second.coupon_disc == pytest.approx(0.40) and second.coupon_match_disc == pytest.approx(0.10)
    assert (tx[["retail_disc", "coupon_disc", "coupon_match_disc"]] >= 0).all().all()
    # basket 101 spans days 8 and 9; days are kept per line
    assert sorted(tx.loc[tx.basket_id == 101, "day"]) == [8, 9]
    assert tx.week.tolist() == [1, 1, 2, 2, 1, 2]
    # a product with a blank department becomes null
    prod = t["products"].set_index("product_id")
    assert pd.isna(prod.loc[12, "department"]) and prod.loc[10, "brand"] == "Private"
    assert prod.loc[10, "manufacturer"] == "69"
    assert t["households"].iloc[0].to_dict()["age"] == "65+"
    camp = t["campaigns"].set_index("campaign_id")
    assert camp.loc[1, "campaign_type"] == "A" and camp.loc[2, "start_day"] == 7
    assert len(t["campaign_members"]) == 2 and len(t["coupons"]) == 1
    assert t["coupon_redemptions"].day.tolist() == [8]
    promo = t["promotions"]
    assert promo.display.tolist() == ["A", "0"] and promo.mailer.tolist() == ["0", "D"]
    s = summary.set_index("table")
    assert s.loc["transactions", "rows"] == 6 and s.loc["transactions", "households"] == 3
    assert (s.loc["transactions", "first_day"], s.loc["transactions", "last_day"]) == (1, 10)
    assert "dropped 1 lines" in s.loc["transactions", "notes"]
    for table, schema in schemas.SCHEMAS.items():  # the pandera schemas accept what was written
        schema.validate(t[table])


def test_parquet_types(tmp_path, dunnhumby_dir):
    """Every canonical file holds exactly the canonical columns as int64, float64 or string."""
    import pyarrow.parquet as pq

    _ingest(tmp_path, dunnhumby_dir)
    for table in CANONICAL_TABLES:
        assert pq.read_schema(tmp_path / "interim" / f"{table}.parquet").remove_metadata() == schemas.arrow_schema(table)


def test_summary_columns_and_warning_rows(tmp_path, dunnhumby_dir):
    """The summary keeps its columns; warnings follow the tables as ``warning:<table>:<check>``
    rows. The fixture has one line with quantity and sales 0 (line 8, household 3)."""
    _, summary = _ingest(tmp_path, dunnhumby_dir)
    on_disk = pd.read_csv(tmp_path / "summary.csv")
    assert list(on_disk.columns) == ["table", "rows", "households", "first_day", "last_day", "source", "notes"]
    assert list(on_disk.table[:8]) == list(CANONICAL_TABLES)
    warn = on_disk.set_index("table").loc[["warning:transactions:zero_quantity", "warning:transactions:zero_sales_value"]]
    assert warn.rows.tolist() == [1, 1]
    assert all("first at line 8" in n and "kept" in n for n in warn.notes)
    assert len(on_disk) == 10


def test_dunnhumby_anonymised_demographics_layout(tmp_path):
    folder = write_dunnhumby(tmp_path / "d", files={"hh_demographic.csv": (
        "classification_1,classification_2,classification_3,HOMEOWNER_DESC,classification_5,"
        "classification_4,KID_CATEGORY_DESC,household_key\nAge Group3,X,Level4,Renter,Group2,2,1,1\n")})
    t, _ = _ingest(tmp_path, folder)
    row = t["households"].iloc[0]
    assert (row.age, row.income, row.home_ownership, row.household_size, row.household_comp) == (
        "Age Group3", "Level4", "Renter", "2", "Group2")


def test_optional_files_absent(tmp_path):
    folder = write_dunnhumby(tmp_path / "d", skip=("causal_data.csv", "hh_demographic.csv", "coupon.csv", "coupon_redempt.csv"))
    t, summary = _ingest(tmp_path, folder)
    assert len(t["promotions"]) == 0 and list(t["promotions"].columns) == ["product_id", "store_id", "week", "display", "mailer"]
    notes = summary.set_index("table")["notes"]
    assert "exposure covariates are missing" in notes["promotions"]


def test_completejourney_adapter():
    """The embedded package: known sizes and conventions of the real data."""
    import duckdb

    src = ing.open_sources({"source": "completejourney"})
    con = duckdb.connect()
    campaigns = next(src["campaigns"].batches(con)).to_pandas()
    assert len(campaigns) == 27 and (campaigns.campaign_type == "A").sum() == 4
    c27 = campaigns.set_index("campaign_id").loc[27]
    assert (c27.start_day, c27.end_day) == (39, 85)  # 2017-02-08 .. 2017-03-26, day 1 = 2017-01-01
    first = next(src["transactions"].batches(con)).to_pandas()
    assert first["day"].min() >= 1 and (first[["retail_disc", "coupon_disc"]] >= 0).all().all()


def _assert_clean_failure(res, interim, *words):
    assert res.returncode != 0
    lines = [ln for ln in res.stderr.strip().splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, res.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])
    assert not interim.exists() or not any(interim.iterdir()), list(interim.iterdir())


def test_missing_folder_and_required_file(tmp_path):
    interim = tmp_path / "interim"
    params = write_params(tmp_path / "p.yaml", data={"source": "dunnhumby", "dunnhumby_dir": str(tmp_path / "nowhere")})
    res = run_script("ingest.py", "--params", str(params), "--out-dir", str(interim), "--summary", str(tmp_path / "s.csv"))
    _assert_clean_failure(res, interim, "nowhere", "data.dunnhumby_dir")
    folder = write_dunnhumby(tmp_path / "d", skip=("product.csv",))
    params = write_params(tmp_path / "p.yaml", data={"source": "dunnhumby", "dunnhumby_dir": str(folder)})
    res = run_script("ingest.py", "--params", str(params), "--out-dir", str(interim), "--summary", str(tmp_path / "s.csv"))
    _assert_clean_failure(res, interim, "product.csv", "required file missing")


@pytest.mark.parametrize(
    "sections, words",
    [
        ({"data": {"source": "excel"}}, ("data.source", "'excel'", "completejourney")),
        ({"data": {"drop_duplicate_lines": "yes"}}, ("data.drop_duplicate_lines", "true or false")),
        ({"synthetic": {"households": 3}}, ("synthetic.households", "3", ">= 20")),
        ({"synthetic": {"househods": 300}}, ("unknown key synthetic.househods",)),
    ],
)
def test_bad_params(tmp_path, sections, words):
    params = write_params(tmp_path / "params.yaml", **sections)
    interim = tmp_path / "interim"
    res = run_script("ingest.py", "--params", str(params), "--out-dir", str(interim), "--summary", str(tmp_path / "s.csv"))
    _assert_clean_failure(res, interim, "params.yaml", *words)


def test_failure_keeps_previous_results(tmp_path, dunnhumby_dir):
    """A failed rerun leaves the earlier tables byte-identical."""
    _ingest(tmp_path, dunnhumby_dir)
    before = {p.name: p.read_bytes() for p in (tmp_path / "interim").iterdir()}
    bad = write_dunnhumby(tmp_path / "bad", files={"campaign_desc.csv": "DESCRIPTION,CAMPAIGN,START_DAY,END_DAY\nTypeQ,1,5,20\n"})
    with pytest.raises(InputError):
        ing.ingest({"source": "dunnhumby", "dunnhumby_dir": str(bad)}, tmp_path / "interim", tmp_path / "summary.csv")
    after = {p.name: p.read_bytes() for p in (tmp_path / "interim").iterdir()}
    assert before == after
