"""The chain's fixed assortment: departments, the product catalogue and the stores.

:data:`DEPARTMENTS` and :data:`COMMODITIES` describe the departments (share of lines, share
of the catalogue, prices, private-label share); :func:`make_catalog` draws the products
(product.csv, popularity within each department and brand) and :func:`make_stores` the
stores and their popularity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from segtarget.data.synthetic.helpers import _rng

PRIVATE_MANUFACTURER = 69
PRICE_SCALE = 0.9
STORES_PER_HOUSEHOLD = 0.17

#: Departments: name, share of lines, share of the catalogue, median price, private share.
DEPARTMENTS = (
    ("GROCERY", 0.47, 0.40, 2.3, 0.22),
    ("PRODUCE", 0.11, 0.04, 1.8, 0.10),
    ("MEAT-PCKGD", 0.05, 0.03, 4.0, 0.20),
    ("MEAT", 0.03, 0.03, 6.5, 0.15),
    ("DELI", 0.03, 0.03, 4.5, 0.15),
    ("DRUG GM", 0.12, 0.32, 3.8, 0.15),
    ("PASTRY", 0.025, 0.02, 3.0, 0.30),
    ("NUTRITION", 0.015, 0.03, 4.5, 0.10),
    ("SPIRITS", 0.006, 0.01, 12.0, 0.0),
    ("KIOSK-GAS", 0.006, 0.003, 3.5, 0.0),
    ("FROZEN GROCERY", 0.004, 0.005, 3.2, 0.10),
    ("SEAFOOD-PCKGD", 0.004, 0.005, 6.0, 0.10),
    ("SEAFOOD", 0.002, 0.003, 8.0, 0.0),
    ("COSMETICS", 0.006, 0.03, 6.0, 0.05),
    ("FLORAL", 0.003, 0.005, 8.0, 0.0),
    ("SALAD BAR", 0.003, 0.002, 4.0, 0.0),
    ("MISC SALES TRAN", 0.003, 0.003, 2.0, 0.0),
    ("GARDEN CENTER", 0.001, 0.005, 9.0, 0.0),
    ("CHEF SHOPPE", 0.001, 0.002, 6.0, 0.0),
    ("TRAVEL & LEISUR", 0.002, 0.005, 5.0, 0.0),
    ("RX", 0.0005, 0.002, 10.0, 0.0),
    ("", 0.0005, 0.0005, 2.0, 0.0),
)
COMMODITIES = {
    "GROCERY": ("SOFT DRINKS", "FLUID MILK PRODUCTS", "BAKED BREAD/BUNS/ROLLS", "CHEESE", "BAG SNACKS",
                "COLD CEREAL", "SOUP", "FROZEN PIZZA", "EGGS", "YOGURT", "CANNED JUICES", "COFFEE",
                "CANDY - PACKAGED", "PASTA SAUCE", "DRY PASTA", "CRACKERS/MISC BKD FD"),
    "PRODUCE": ("VEGETABLES - ALL OTHERS", "TROPICAL FRUIT", "POTATOES", "APPLES", "BERRIES",
                "SALAD MIX", "ONIONS", "CITRUS"),
    "MEAT-PCKGD": ("LUNCHMEAT", "BACON", "HOT DOGS", "BREAKFAST SAUSAGE/SANDWICHES"),
    "MEAT": ("BEEF", "CHICKEN", "PORK", "TURKEY"),
    "DELI": ("DELI MEATS", "DELI SPECIALTIES (RETAIL PK)", "CHEESES", "SANDWICHES"),
    "DRUG GM": ("CIGARETTES", "MAGAZINE", "GREETING CARDS/WRAP/PARTY SPLY", "HAIR CARE PRODUCTS",
                "VITAMINS", "COLD AND FLU", "ORAL HYGIENE PRODUCTS", "HOUSEHOLD CLEANING"),
    "PASTRY": ("CAKES", "DONUTS", "BREAD", "COOKIES"),
    "NUTRITION": ("NATURAL HBC", "HEALTH FOODS", "ORGANICS FRUIT & VEGETABLES"),
    "SPIRITS": ("LIQUOR", "WINE"),
    "KIOSK-GAS": ("CIGARETTES", "SOFT DRINKS", "CANDY - PACKAGED"),
    "FROZEN GROCERY": ("FROZEN MEAT", "ICE CREAM"),
    "SEAFOOD-PCKGD": ("SEAFOOD - FROZEN", "SEAFOOD - SHELF STABLE"),
    "SEAFOOD": ("SEAFOOD - FRESH",),
    "COSMETICS": ("MAKEUP AND TREATMENT", "NAIL CARE"),
    "FLORAL": ("BOUQUETS", "PLANTS"),
    "SALAD BAR": ("SALAD BAR",),
    "MISC SALES TRAN": ("COUPON/MISC ITEMS", "GIFT CARDS"),
    "GARDEN CENTER": ("LAWN AND GARDEN",),
    "CHEF SHOPPE": ("PREPARED FOOD",),
    "TRAVEL & LEISUR": ("TRAVEL ITEMS",),
    "RX": ("RX",),
    "": ("",),
}
SUB_VARIANTS = ("ALL OTHER", "PREMIUM", "VALUE", "MULTI-PACK", "SINGLE SERVE", "FAMILY SIZE")
SIZES = ("", "", "", "8 OZ", "12 OZ", "16 OZ", "32 OZ", "1 LB", "2 LB", "5 LB", "2 LTR", "6 PK", "1 GA", "1 CT")
FUEL_PRODUCTS = (("GASOLINE-REG UNLEADED", ""), ("GASOLINE-MID GRADE", ""), ("GASOLINE-PREMIUM", ""))


# ------------------------------------------------------------------------------------------
# catalogue and stores
# ------------------------------------------------------------------------------------------
@dataclass
class Catalog:
    """Products in sampling order: grouped by (department, brand), fuel last."""

    ids: np.ndarray
    dept: np.ndarray
    private: np.ndarray
    price: np.ndarray
    table: pd.DataFrame  # product.csv rows in catalogue order
    flat: np.ndarray  # cumulative popularity within group + group index
    group_start: np.ndarray
    group_end: np.ndarray
    group_mean_price: np.ndarray
    has_private: np.ndarray
    line_share: np.ndarray
    fuel: np.ndarray  # catalogue positions of the gasoline products
    popularity: np.ndarray  # chain-wide share of lines of each product (approximate)


def make_catalog(s: dict) -> Catalog:
    """A product catalogue of ``8 * households`` products (3,000 to 60,000) plus 3 fuels."""
    rng = _rng(s["seed"], 2)
    n_dept = len(DEPARTMENTS)
    n = int(np.clip(8 * s["households"], 3000, 60000))
    share = np.array([d[2] for d in DEPARTMENTS])
    counts = np.maximum(4, np.round(share / share.sum() * n)).astype(int)
    depts, privs, prices, comms, subs = [], [], [], [], []
    for d, (name, _, _, median, p_priv) in enumerate(DEPARTMENTS):
        n_d = counts[d]
        n_priv = int(round(p_priv * n_d))
        if p_priv > 0:
            n_priv = min(max(n_priv, 1), n_d - 2)
        for b, n_b in ((0, n_d - n_priv), (1, n_priv)):
            depts.append(np.full(n_b, d))
            privs.append(np.full(n_b, b))
            p = np.exp(np.log(PRICE_SCALE * median) + 0.55 * rng.standard_normal(n_b)) * (0.75 if b else 1.0)
            prices.append(np.maximum(np.round(p, 2), 0.25))
            cl = COMMODITIES[name]
            c = rng.integers(0, len(cl), n_b)
            v = rng.integers(0, len(SUB_VARIANTS), n_b)
            comms.append(np.array(cl, dtype=object)[c])
            subs.append(np.array([f"{SUB_VARIANTS[j]} {cl[i]}".strip() if name else "" for i, j in zip(c, v)],
                                 dtype=object))
    dept = np.concatenate(depts)
    private = np.concatenate(privs)
    price = np.concatenate(prices)
    group = 2 * dept + private
    n_groups = 2 * n_dept
    gcount = np.bincount(group, minlength=n_groups)
    gstart = np.concatenate([[0], np.cumsum(gcount)[:-1]])
    gend = gstart + gcount
    # Zipf-like popularity within each group (random ranks).
    pop = np.empty(len(dept))
    cum = np.empty(len(dept))
    gmean = np.zeros(n_groups)
    for g in range(n_groups):
        a, b = gstart[g], gend[g]
        if b == a:
            continue
        w = 1.0 / (rng.permutation(b - a) + 1.0) ** 0.9
        w /= w.sum()
        pop[a:b] = w
        c = np.cumsum(w)
        c[-1] = 1.0
        cum[a:b] = c
        gmean[g] = float(np.dot(w, price[a:b]))
    flat = cum + group
    has_private = gcount[1::2] > 0
    line_share = np.array([d[1] for d in DEPARTMENTS])
    line_share = line_share / line_share.sum()
    private_mix = np.where(has_private[dept], np.where(private == 1, 0.3, 0.7), 1.0)
    popularity = pop * line_share[dept] * private_mix
    # fuel products (KIOSK-GAS, brand Private as in the original) after the catalogue
    kiosk = [d[0] for d in DEPARTMENTS].index("KIOSK-GAS")
    n_all = len(dept) + len(FUEL_PRODUCTS)
    ids = 25_000 + np.cumsum(rng.integers(1, 400, n_all))
    ids = ids[rng.permutation(n_all)]
    manuf = rng.integers(1, max(60, n // 15), n_all)
    manuf[manuf == PRIVATE_MANUFACTURER] += 1
    all_private = np.concatenate([private, np.ones(len(FUEL_PRODUCTS), int)])
    manuf[all_private == 1] = PRIVATE_MANUFACTURER
    names = np.array([d[0] for d in DEPARTMENTS], dtype=object)
    table = pd.DataFrame(
        {
            "PRODUCT_ID": ids,
            "MANUFACTURER": manuf,
            "DEPARTMENT": np.concatenate([names[dept], np.full(len(FUEL_PRODUCTS), "KIOSK-GAS", dtype=object)]),
            "BRAND": np.where(all_private == 1, "Private", "National"),
            "COMMODITY_DESC": np.concatenate(comms + [np.full(len(FUEL_PRODUCTS), "COUPON/MISC ITEMS", dtype=object)]),
            "SUB_COMMODITY_DESC": np.concatenate(subs + [np.array([f[0] for f in FUEL_PRODUCTS], dtype=object)]),
            "CURR_SIZE_OF_PRODUCT": np.array(SIZES, dtype=object)[rng.integers(0, len(SIZES), n_all)],
        }
    )
    return Catalog(
        ids=ids, dept=np.concatenate([dept, np.full(len(FUEL_PRODUCTS), kiosk)]),
        private=all_private, price=np.concatenate([price, np.full(len(FUEL_PRODUCTS), 3.0)]),
        table=table, flat=flat, group_start=gstart, group_end=gend, group_mean_price=gmean,
        has_private=has_private, line_share=line_share,
        fuel=np.arange(len(dept), n_all), popularity=popularity,
    )


def pick_products(cat: Catalog, group: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Catalogue positions of products drawn by popularity inside ``group`` with uniforms ``u``."""
    pos = np.searchsorted(cat.flat, group + u, side="right")
    return np.clip(pos, cat.group_start[group], cat.group_end[group] - 1)


@dataclass
class Stores:
    ids: np.ndarray
    cum: np.ndarray  # cumulative popularity (for visits away from home)
    order: np.ndarray  # store positions by popularity, most popular first


def make_stores(s: dict) -> Stores:
    rng = _rng(s["seed"], 10)
    n = max(5, int(round(STORES_PER_HOUSEHOLD * s["households"])))
    w = 1.0 / (np.arange(n) + 1.0) ** 1.1
    w = w[rng.permutation(n)]
    cum = np.cumsum(w) / w.sum()
    cum[-1] = 1.0
    ids = np.cumsum(rng.integers(1, 3, n))
    return Stores(ids=ids, cum=cum, order=np.argsort(-w, kind="stable"))
