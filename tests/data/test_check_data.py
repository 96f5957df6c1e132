"""`make check-data`: the ingest stage's validation run on a folder with nothing kept, as a readable report."""

from __future__ import annotations

from pathlib import Path

from conftest import DUNNHUMBY_FIXTURE, run_script, write_dunnhumby
from segtarget.core.io import write_parquet
from segtarget.core.paths import CANONICAL_TABLES, interim
from segtarget.data.check import check_folder
from segtarget.data.schemas import empty


def _tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


def test_a_clean_folder_passes_with_tables_and_counted_warnings(tmp_path):
    folder = write_dunnhumby(tmp_path / "d")
    before = _tree(tmp_path)
    res = run_script("check_data.py", "--source", "dunnhumby", "--dir", str(folder), cwd=tmp_path)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    out = res.stdout
    assert "result: OK" in out and "problems: 0" in out
    assert "transaction_data.csv" in out and "transactions" in out  # per file and per table
    rep = check_folder("dunnhumby", folder)
    tx = rep.tables.set_index("table").loc["transactions"]
    assert (tx["rows"], tx["households"]) == (6, 3)  # 7 lines, one dropped for a wrongly signed discount
    # the fixture's zero-quantity line is legal but counted
    assert any("transactions" in w for w in rep.warnings), rep.warnings
    assert _tree(tmp_path) == before  # nothing written


def test_a_broken_folder_fails_with_the_problem_named(tmp_path):
    bad = DUNNHUMBY_FIXTURE["transaction_data.csv"].replace("1,100,1,10,2,3.00", "1,100,1,10,-2,3.00")
    folder = write_dunnhumby(tmp_path / "d", {"transaction_data.csv": bad})
    res = run_script("check_data.py", "--source", "dunnhumby", "--dir", str(folder), cwd=tmp_path)
    assert res.returncode == 1
    assert "result: NOT OK" in res.stdout and "problems: 1" in res.stdout
    assert "transaction_data.csv" in res.stdout and "QUANTITY" in res.stdout
    missing = write_dunnhumby(tmp_path / "m", skip=("product.csv",))
    res = run_script("check_data.py", "--source", "dunnhumby", "--dir", str(missing), cwd=tmp_path)
    assert res.returncode == 1 and "product.csv" in res.stdout


def test_canonical_folder_checks_every_table(tmp_path):
    folder = tmp_path / "interim"
    for t in CANONICAL_TABLES:
        write_parquet(empty(t), interim(t, folder))
    rep = check_folder("canonical", folder)
    assert rep.ok and set(rep.tables["table"]) == set(CANONICAL_TABLES)
    p = interim("transactions", folder)
    p.write_bytes(p.read_bytes()[:10])
    rep = check_folder("canonical", folder)
    assert not rep.ok and "transactions.parquet" in rep.problems[0] and "cannot read as parquet" in rep.problems[0]


def test_a_missing_folder_is_a_one_line_error(tmp_path):
    res = run_script("check_data.py", "--dir", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert res.returncode == 2 and res.stderr.strip().count("\n") == 0 and "nowhere" in res.stderr
