"""Bad and messy input files: counted one-line errors, warnings, encodings and header variants.

Every error leaves an earlier ingest's tables byte-identical and names the file and the column
(as the file spells it); every legal variant of the files (byte-order mark, Windows line ends,
lower-case or reordered headers, extra columns, blank lines) gives the same parquet tables.
"""

from __future__ import annotations

import csv
import io
import shutil

import pandas as pd
import pytest

from conftest import DUNNHUMBY_FIXTURE, run_script, write_dunnhumby, write_params
from segtarget.core.errors import InputError
from segtarget.core.paths import CANONICAL_TABLES
from segtarget.data import ingest as ing

TX_HEADER = DUNNHUMBY_FIXTURE["transaction_data.csv"].splitlines()[0]
PRODUCT_HEADER = DUNNHUMBY_FIXTURE["product.csv"].splitlines()[0]


def _tx_with(line: int, **values) -> str:
    """The fixture's transactions with fields of physical line ``line`` (header = 1) replaced."""
    rows = list(csv.reader(io.StringIO(DUNNHUMBY_FIXTURE["transaction_data.csv"])))
    for name, value in values.items():
        rows[line - 1][rows[0].index(name)] = value
    return "".join(",".join(r) + "\n" for r in rows)


#: case -> (files to replace, words the one-line error must contain)
ERRORS = {
    "negative_quantity": ({"transaction_data.csv": _tx_with(5, QUANTITY="-1").replace("\n3,300,10,12,0,", "\n3,300,10,12,-3,")},
                          ("transaction_data.csv", "column QUANTITY has 2 negative values (first at line 5: -1)", ">= 0")),
    "negative_after_dropped_line": ({"transaction_data.csv": _tx_with(8, SALES_VALUE="-2.5")},
                                    ("column SALES_VALUE has 1 negative value (first at line 8: -2.5)",)),
    "fraction_quantity": ({"transaction_data.csv": _tx_with(3, QUANTITY="1.5")},
                          ("transaction_data.csv", "column QUANTITY has 1 value that is not a whole number",
                           "first at line 3: '1.5'")),
    "wrong_type": ({"transaction_data.csv": _tx_with(2, QUANTITY="two")},
                   ("transaction_data.csv", "column QUANTITY", "line 2: 'two'", "whole numbers")),
    "nan_sales": ({"transaction_data.csv": _tx_with(4, SALES_VALUE="nan")},
                  ("column SALES_VALUE has 1 empty or NaN value (first at line 4)",)),
    "empty_day": ({"transaction_data.csv": _tx_with(6, DAY="")}, ("column DAY has 1 empty value (first at line 6)",)),
    "day_zero": ({"transaction_data.csv": _tx_with(2, DAY="0")}, ("column DAY has 1 value below 1", ">= 1")),
    "missing_column": ({"transaction_data.csv": "household_key,BASKET_ID,DAY,PRODUCT_ID,SALES_VALUE,STORE_ID,RETAIL_DISC,"
                                                "WEEK_NO,COUPON_DISC,COUPON_MATCH_DISC\n1,1,1,1,1.0,1,0,1,0,0\n"},
                       ("transaction_data.csv", "missing column QUANTITY")),
    "repeated_header_column": ({"product.csv": PRODUCT_HEADER + ",brand\n10,69,GROCERY,Private,SOUP,SOUP,1,Private\n"},
                               ("product.csv", "column brand appears twice")),
    "header_only_transactions": ({"transaction_data.csv": TX_HEADER + "\n"}, ("transaction_data.csv", "no transaction lines")),
    "header_only_products": ({"product.csv": PRODUCT_HEADER + "\n"}, ("product.csv", "no data lines")),
    "zero_byte_products": ({"product.csv": ""}, ("product.csv", "file is empty (0 bytes)")),
    "zero_byte_optional": ({"causal_data.csv": ""}, ("causal_data.csv", "file is empty (0 bytes)")),
    "extra_field": ({"campaign_table.csv": "DESCRIPTION,household_key,CAMPAIGN\nTypeA,1,1\nTypeB,2,2,9\n"},
                    ("campaign_table.csv", "1 line has more fields than the header's 3 (first at line 3")),
    "repeated_product": ({"product.csv": DUNNHUMBY_FIXTURE["product.csv"] + "10,70,PRODUCE,National,X,Y,\n"},
                         ("product.csv", "column PRODUCT_ID has 1 repeated value (first at line 6: 10)")),
    "bad_brand": ({"product.csv": DUNNHUMBY_FIXTURE["product.csv"].replace("2,PRODUCE,National", "2,PRODUCE,Store")},
                  ("product.csv", "column BRAND has 1 value other than National, Private (first at line 3: 'Store')")),
    "bad_campaign_type": ({"campaign_desc.csv": "DESCRIPTION,CAMPAIGN,START_DAY,END_DAY\nTypeQ,1,5,20\n"},
                          ("campaign_desc.csv", "column DESCRIPTION", "(first at line 2: 'TypeQ')", "one of A, B, C")),
    "end_before_start": ({"campaign_desc.csv": "DESCRIPTION,CAMPAIGN,START_DAY,END_DAY\nTypeA,1,5,20\nTypeB,2,9,4\n"},
                         ("campaign_desc.csv", "column END_DAY has 1 value breaking end_day >= start_day (first at line 3: 4)")),
}
LATIN1 = {
    "latin1_product": ("product.csv", DUNNHUMBY_FIXTURE["product.csv"].replace("FRUIT", "FRUITÉ"),
                       ("product.csv", "1 line is not UTF-8 text (first at line 3", "save the file as UTF-8")),
    "latin1_header": ("product.csv", DUNNHUMBY_FIXTURE["product.csv"].replace("BRAND", "MARQUÉ"),
                      ("product.csv", "line 1 (the header) is not UTF-8 text", "save the file as UTF-8")),
}


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """The fixture ingested once: its folder, tables and summary (copied by each test)."""
    root = tmp_path_factory.mktemp("clean")
    folder = write_dunnhumby(root / "d")
    ing.ingest({"source": "dunnhumby", "dunnhumby_dir": str(folder)}, root / "interim", root / "summary.csv")
    return root


def _fails(tmp_path, clean, folder, *words):
    """Ingest ``folder`` over a copy of the clean results: a one-line InputError with
    ``words``; the tables and the summary are left byte-identical."""
    shutil.copytree(clean / "interim", tmp_path / "interim")
    shutil.copy(clean / "summary.csv", tmp_path / "summary.csv")
    before = {p.name: p.read_bytes() for p in [*(tmp_path / "interim").iterdir(), tmp_path / "summary.csv"]}
    with pytest.raises(InputError) as err:
        ing.ingest({"source": "dunnhumby", "dunnhumby_dir": str(folder)}, tmp_path / "interim", tmp_path / "summary.csv")
    message = str(err.value)
    assert "\n" not in message
    for w in words:
        assert w in message, (w, message)
    after = {p.name: p.read_bytes() for p in [*(tmp_path / "interim").iterdir(), tmp_path / "summary.csv"]}
    assert before == after
    return message


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_bad_input_is_a_counted_one_line_error(tmp_path, clean, case):
    files, words = ERRORS[case]
    _fails(tmp_path, clean, write_dunnhumby(tmp_path / "d", files=files), *words)


@pytest.mark.parametrize("case", sorted(LATIN1))
def test_latin1_file_is_named_with_the_fix(tmp_path, clean, case):
    name, text, words = LATIN1[case]
    folder = write_dunnhumby(tmp_path / "d")
    (folder / name).write_bytes(text.encode("latin-1"))
    _fails(tmp_path, clean, folder, *words)


@pytest.mark.parametrize("name", ["transaction_data.csv", "coupon.csv"])
def test_folder_instead_of_a_file(tmp_path, clean, name):
    folder = write_dunnhumby(tmp_path / "d", skip=(name,))
    (folder / name).mkdir()
    _fails(tmp_path, clean, folder, name, "is a folder, not a file")


@pytest.mark.parametrize("case", ["negative_quantity", "bad_campaign_type"])
def test_script_exits_with_one_error_line(tmp_path, case):
    """Through the stage script: exit status 2, one ``error:`` line, nothing written."""
    files, words = ERRORS[case]
    folder = write_dunnhumby(tmp_path / "d", files=files)
    params = write_params(tmp_path / "params.yaml", data={"source": "dunnhumby", "dunnhumby_dir": str(folder)})
    interim = tmp_path / "interim"
    res = run_script("ingest.py", "--params", str(params), "--out-dir", str(interim), "--summary", str(tmp_path / "s.csv"))
    assert res.returncode == 2
    lines = [ln for ln in res.stderr.strip().splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and all(w in lines[0] for w in words), res.stderr
    assert not (tmp_path / "s.csv").exists() and not any(interim.glob("*.parquet"))


def _variant(text: str, order=None, lower=False, extra=False, crlf=False, bom=False, blank=False) -> bytes:
    """A legal rewrite of a CSV file: columns reordered, header in lower case, an extra column,
    Windows line ends, a byte-order mark, a blank line."""
    rows = list(csv.reader(io.StringIO(text)))
    idx = list(range(len(rows[0])))[::-1] if order == "reversed" else list(range(len(rows[0])))
    out = []
    for i, row in enumerate(rows):
        row = [row[j] if j < len(row) else "" for j in idx]
        if i == 0 and lower:
            row = [c.lower() for c in row]
        if extra:
            row.append("EXTRA" if i == 0 else f"junk {i}")
        out.append(",".join(row))
    if blank:
        out.insert(2, "")
    end = "\r\n" if crlf else "\n"
    return ("\ufeff" if bom else "").encode() + (end.join(out) + end).encode()


@pytest.mark.parametrize("how", [
    {"bom": True}, {"crlf": True}, {"lower": True}, {"order": "reversed", "extra": True},
    {"blank": True}, {"bom": True, "crlf": True, "lower": True, "order": "reversed", "extra": True},
])
def test_legal_variants_give_identical_tables(tmp_path, clean, how):
    folder = write_dunnhumby(tmp_path / "d")
    for name, text in DUNNHUMBY_FIXTURE.items():
        (folder / name).write_bytes(_variant(text, **how))
    summary = ing.ingest({"source": "dunnhumby", "dunnhumby_dir": str(folder)}, tmp_path / "interim", tmp_path / "s.csv")
    for table in CANONICAL_TABLES:
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "interim" / f"{table}.parquet"),
                                      pd.read_parquet(clean / "interim" / f"{table}.parquet"), check_exact=True)
    expected = pd.read_csv(clean / "summary.csv")
    got = pd.read_csv(tmp_path / "s.csv")
    pd.testing.assert_frame_equal(got[["table", "rows", "households", "first_day", "last_day"]],
                                  expected[["table", "rows", "households", "first_day", "last_day"]])
    assert len(summary) == len(expected)


def test_duplicate_lines_are_counted_and_kept(tmp_path, clean):
    lines = DUNNHUMBY_FIXTURE["transaction_data.csv"].splitlines(keepends=True)
    folder = write_dunnhumby(tmp_path / "d", files={"transaction_data.csv": "".join(lines + [lines[1], lines[4], lines[1]])})
    summary = ing.ingest({"source": "dunnhumby", "dunnhumby_dir": str(folder)}, tmp_path / "i", tmp_path / "s.csv")
    s = summary.set_index("table")
    assert s.loc["transactions", "rows"] == 9
    assert s.loc["warning:transactions:duplicate_lines", "rows"] == 3
    assert "kept" in s.loc["warning:transactions:duplicate_lines", "notes"]
    assert "data.drop_duplicate_lines: true" in s.loc["warning:transactions:duplicate_lines", "notes"]


def test_duplicate_lines_dropped_when_asked(tmp_path, clean):
    """Dropping keeps the first of each repeated line and the order: the clean tables again."""
    lines = DUNNHUMBY_FIXTURE["transaction_data.csv"].splitlines(keepends=True)
    body = lines[:3] + [lines[1]] + lines[3:] + [lines[4], lines[1]]
    folder = write_dunnhumby(tmp_path / "d", files={"transaction_data.csv": "".join(body)})
    summary = ing.ingest({"source": "dunnhumby", "dunnhumby_dir": str(folder), "drop_duplicate_lines": True},
                         tmp_path / "i", tmp_path / "s.csv")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "i" / "transactions.parquet"),
                                  pd.read_parquet(clean / "interim" / "transactions.parquet"), check_exact=True)
    s = summary.set_index("table")
    assert s.loc["transactions", "rows"] == 6 and s.loc["transactions", "households"] == 3
    assert s.loc["warning:transactions:duplicate_lines", "rows"] == 3
    assert s.loc["warning:transactions:duplicate_lines", "notes"].startswith("dropped 3 lines")


def test_households_without_transactions_are_a_warning(tmp_path):
    folder = write_dunnhumby(tmp_path / "d", files={
        "campaign_table.csv": DUNNHUMBY_FIXTURE["campaign_table.csv"] + "TypeA,9,1\nTypeB,9,2\n",
        "hh_demographic.csv": DUNNHUMBY_FIXTURE["hh_demographic.csv"] + "25-34,B,Under 15K,Renter,Single Male,1,None/Unknown,8\n",
    })
    summary = ing.ingest({"source": "dunnhumby", "dunnhumby_dir": str(folder)}, tmp_path / "i", tmp_path / "s.csv")
    s = summary.set_index("table")
    members = s.loc["warning:campaign_members:households_without_transactions"]
    assert (members.rows, members.households) == (2, 1)
    assert "first at line 4: household 9" in members.notes and "campaign_table.csv" in members.notes
    demo = s.loc["warning:households:households_without_transactions"]
    assert (demo.rows, demo.households) == (1, 1) and "household 8" in demo.notes
    assert "warning:coupon_redemptions:households_without_transactions" not in s.index


def test_reading_a_csv_logs_progress_with_a_time_estimate(tmp_path, caplog):
    """The streamed read reports blocks done out of the file's estimated block count (the last always logs)."""
    import logging

    import pyarrow as pa

    from segtarget.data.sources import csvread

    path = tmp_path / "t.csv"
    path.write_text("A,B\n" + "".join(f"{i},{i * 2}\n" for i in range(1000)))
    with caplog.at_level(logging.INFO, logger="segtarget.progress"):
        batches = list(csvread.stream(path, 2, {0: pa.int64(), 1: pa.int64()}))
    assert sum(b.num_rows for b in batches) == 1000
    lines = [r.getMessage() for r in caplog.records if r.name == "segtarget.progress"]
    assert lines and "ingest: reading t.csv" in lines[-1] and "1/1 (100%)" in lines[-1], lines
