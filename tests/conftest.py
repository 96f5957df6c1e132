"""Shared test helpers: the project root, running stage scripts, a tiny dunnhumby fixture."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import settings

# Property tests draw the same examples on every run (CI must not turn red on a new draw); an
# example that once failed is kept as an @example beside its test.
settings.register_profile("segtarget", derandomize=True, database=None)
settings.load_profile("segtarget")

ROOT = Path(__file__).resolve().parents[1]


def run_script(script: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``scripts/<script>`` as ``python scripts/<script> *args`` would (a process of its own, forked
    from a server that has the libraries imported: :mod:`script_runner`); capture output.

    Without ``cwd`` the script runs in a fresh empty folder that is removed afterwards, so an output
    a test forgets to redirect (the scripts' defaults are relative: ``results/...``, ``data/...``) is
    written there and lost, never into the project's own folders; a forgotten input is not found.
    """
    from script_runner import run

    with tempfile.TemporaryDirectory(prefix="run_script_") as scratch:
        return run(ROOT / "scripts" / script, list(args), Path(cwd or scratch))


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


def pytest_collection_modifyitems(config, items):
    """Run the workflow tests last (stable: the order within each group is kept), so that the workflow
    runs they share, started in the background before the first test, overlap the unit tests."""
    items.sort(key=lambda item: item.get_closest_marker("workflow") is not None)


@pytest.fixture(scope="session", autouse=True)
def workflow_runs(request, tmp_path_factory):
    """Start the shared workflow runs that the selected tests need, in the background, before the first test."""
    from workflow_helpers import start_dvc_run, start_snakemake_run

    needed = {name for item in request.session.items for name in item.fixturenames}
    runs = {}
    if "tiny_project" in needed:
        runs["tiny_project"] = start_snakemake_run(tmp_path_factory.mktemp("tiny"))
    if "dvc_project" in needed:
        runs["dvc_project"] = start_dvc_run(tmp_path_factory.mktemp("dvc"))
    yield runs
    for run in runs.values():
        run.stop()


@pytest.fixture(scope="session")
def tiny_project(workflow_runs):
    """The whole workflow run once by Snakemake on the tiny synthetic config (shared, read-only)."""
    return workflow_runs["tiny_project"].result()


@pytest.fixture(scope="session")
def dvc_project(workflow_runs):
    """A second, independent run of the whole workflow, by `dvc repro` in a fresh git repository (shared, read-only)."""
    return workflow_runs["dvc_project"].result()


#: The project's run products: no test may write here (stage scripts run in temporary folders,
#: the workflow tests in temporary copies of the project).
GUARDED = ("results", "data", "report/_output")


def _snapshot() -> dict[str, int]:
    """Modification time (ns) of every file under the guarded folders of the checkout."""
    files = {}
    for folder in GUARDED:
        for dirpath, _, names in os.walk(ROOT / folder):
            for name in names:
                path = Path(dirpath) / name
                try:
                    files[path.relative_to(ROOT).as_posix()] = path.stat().st_mtime_ns
                except FileNotFoundError:
                    pass
    return files


@pytest.fixture(scope="session", autouse=True)
def project_outputs_untouched():
    """Fail the session if a test wrote, replaced or removed a file under results/, data/ or report/_output.

    (A workflow run in this same checkout while the tests run, e.g. ``make run``, trips it too.)
    """
    before = _snapshot()
    yield
    after = _snapshot()
    changed = sorted(k for k in before.keys() & after.keys() if before[k] != after[k])
    added, removed = sorted(after.keys() - before.keys()), sorted(before.keys() - after.keys())
    if changed or added or removed:
        pytest.fail(f"the tests touched the project's run products (changed {changed[:10]}, added {added[:10]}, "
                    f"removed {removed[:10]}); pass every output path of a script, or run it in tmp_path",
                    pytrace=False)
