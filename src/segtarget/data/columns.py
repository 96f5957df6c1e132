"""The canonical column names: the one place they are spelled.

Kept apart from :mod:`segtarget.data.schemas` (which re-exports them) so that the stages that only
need the names (features, every Track 2 module) do not import pandera, which costs more than a second
per process (it imports pyspark's pandas API when pyspark is installed).
"""

HOUSEHOLD = "household_id"
BASKET = "basket_id"
PRODUCT = "product_id"
STORE = "store_id"
CAMPAIGN = "campaign_id"
DAY = "day"
WEEK = "week"

#: Demographic columns of the households table (all optional text).
DEMOGRAPHICS = ("age", "income", "home_ownership", "marital_status", "household_size", "household_comp", "kids_count")
