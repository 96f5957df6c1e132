"""Shared test helpers: the project root, running stage scripts, a tiny dunnhumby fixture."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def run_script(script: str, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """Run ``scripts/<script>`` with the test interpreter; capture output."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / script), *args],
        cwd=cwd, capture_output=True, text=True, env=env,
    )


def write_params(path: Path, **sections) -> Path:
    """Write a params file: the project's defaults with ``sections`` merged in."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    for name, values in sections.items():
        if isinstance(values, dict) and isinstance(params.get(name), dict):
            params[name] = {**params[name], **values}
        else:
            params[name] = values
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


DUNNHUMBY_FIXTURE = {
    "transaction_data.csv": """household_key,BASKET_ID,DAY,PRODUCT_ID,QUANTITY,SALES_VALUE,STORE_ID,RETAIL_DISC,TRANS_TIME,WEEK_NO,COUPON_DISC,COUPON_MATCH_DISC
1,100,1,10,2,3.00,5,-0.50,1015,1,0,0
1,100,1,11,1,1.25,5,0,1016,1,-0.40,-0.10
1,101,8,12,1,2.00,5,0,2359,2,0,0
1,101,9,10,1,1.50,5,0,0001,2,0,0
2,200,3,99,30,40.00,7,0,1200,1,0,0
2,201,4,11,1,1.00,7,0.35,1300,1,0,0
3,300,10,12,0,0.00,7,0,0900,2,0,0
""",
    "product.csv": """PRODUCT_ID,MANUFACTURER,DEPARTMENT,BRAND,COMMODITY_DESC,SUB_COMMODITY_DESC,CURR_SIZE_OF_PRODUCT
10,69,GROCERY,Private,SOUP,CONDENSED SOUP,10 OZ
11,2,PRODUCE,National,FRUIT,APPLES,
12,5, ,National,MISC,MISC,
99,1,KIOSK-GAS,Private,COUPON/MISC ITEMS,GASOLINE,
""",
    "hh_demographic.csv": """AGE_DESC,MARITAL_STATUS_CODE,INCOME_DESC,HOMEOWNER_DESC,HH_COMP_DESC,HOUSEHOLD_SIZE_DESC,KID_CATEGORY_DESC,household_key
65+,A,35-49K,Homeowner,2 Adults No Kids,2,None/Unknown,1
""",
    "campaign_desc.csv": """DESCRIPTION,CAMPAIGN,START_DAY,END_DAY
TypeA,1,5,20
TypeB,2,7,14
""",
    "campaign_table.csv": """DESCRIPTION,household_key,CAMPAIGN
TypeA,1,1
TypeB,2,2
""",
    "coupon.csv": """COUPON_UPC,PRODUCT_ID,CAMPAIGN
5001,11,1
""",
    "coupon_redempt.csv": """household_key,DAY,COUPON_UPC,CAMPAIGN
1,8,5001,1
""",
    "causal_data.csv": """PRODUCT_ID,STORE_ID,WEEK_NO,display,mailer
10,5,1,A,0
11,5,1,0,D
""",
}


def write_dunnhumby(folder: Path, files: dict[str, str] | None = None, skip: tuple[str, ...] = ()) -> Path:
    """Write the hand-made dunnhumby fixture (optionally overriding or omitting files)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in {**DUNNHUMBY_FIXTURE, **(files or {})}.items():
        if name not in skip:
            (folder / name).write_text(text)
    return folder


@pytest.fixture
def dunnhumby_dir(tmp_path) -> Path:
    return write_dunnhumby(tmp_path / "dunnhumby")


@pytest.fixture(scope="session")
def tiny_project(tmp_path_factory):
    """The whole workflow run once by Snakemake on the tiny synthetic config (shared, read-only)."""
    from workflow_helpers import copy_project, snakemake, tiny_params

    project = copy_project(tmp_path_factory.mktemp("tiny"), tiny_params())
    snakemake(project)
    return project
