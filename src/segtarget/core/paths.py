"""Where things live: the one place for file names shared by library, workflow and tests."""

from __future__ import annotations

from pathlib import Path

#: The project root when the package is installed editable from a checkout.
PROJECT_ROOT = Path(__file__).resolve().parents[3]
SCHEMA_FILE = PROJECT_ROOT / "workflow" / "schemas" / "params.schema.yaml"

RAW_DIR = Path("data/raw")
SYNTHETIC_DIR = RAW_DIR / "synthetic"
INTERIM_DIR = Path("data/interim")
TABLES_DIR = Path("results/tables")
FIGURES_DIR = Path("results/figures")
METRICS_FILE = Path("results/metrics.json")

#: Canonical tables written by the ingest stage, in this order.
CANONICAL_TABLES = (
    "transactions",
    "products",
    "households",
    "campaigns",
    "campaign_members",
    "coupons",
    "coupon_redemptions",
    "promotions",
)


def interim(table: str, root: Path = INTERIM_DIR) -> Path:
    """Path of a canonical table's parquet file."""
    return Path(root) / f"{table}.parquet"
