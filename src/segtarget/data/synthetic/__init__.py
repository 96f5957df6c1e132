"""The synthetic retailer: dunnhumby-format CSVs with a known causal truth, at any size.

:func:`write_synthetic` writes the eight files of the original dunnhumby release
(``transaction_data.csv``, ``product.csv``, ``hh_demographic.csv``, ``campaign_desc.csv``,
``campaign_table.csv``, ``coupon.csv``, ``coupon_redempt.csv`` and, when
``synthetic.promotions`` is true, ``causal_data.csv``) in the original column layout, so the
data go through the same dunnhumby adapter as the real files, plus the truth the generator
used (``truth.csv``, ``truth_campaigns.csv``) and ``MANIFEST.json``. The same seed gives
byte-identical files.

The data-generating process (every constant is a module-level name in this package)
-----------------------------------------------------------------------------------
Households
    Baseline visit rate ``mu_h`` (baskets per week) is lognormal with mean about 1.1. The
    weekly rate is ``lambda_hw = mu_h * exp(x_hw - s^2/2 + season_w)`` where ``x_hw`` is a
    stationary AR(1) process on the log rate (persistence ``AR_RHO`` per week, standard
    deviation ``AR_SD``), so a household that spent more recently keeps spending more for a
    while; ``season_w`` is a mild annual sine plus a holiday bump. Each week the household
    makes ``Poisson(lambda_hw + campaign effects)`` baskets (at least one basket in an early
    "enrolment" week, so every household appears in the transactions).
Baskets
    A share ``fuel_h`` of a household's visits are fuel-kiosk visits (one gasoline line with
    a huge QUANTITY in department KIOSK-GAS, sometimes one more item); the other baskets hold
    ``1 + Poisson(Gamma)`` lines with household mean ``lines_h`` (about 9). Each line picks
    a department from the household's Dirichlet preferences, a Private brand with the
    household's private-label share, then a product: from the household's personal
    repertoire (a few fixed products per department and brand) or by chain-wide popularity.
    Lines are discounted by the loyalty card with the household's deal proneness
    (RETAIL_DISC), some carry a manufacturer coupon (COUPON_DISC) and a retailer match
    (COUPON_MATCH_DISC). A few lines have QUANTITY 0; a few baskets start just before
    midnight and have lines on two DAYs. Shoppers use a home store and sometimes others.
Campaigns
    ``campaigns_a/b/c`` campaigns from ``first_campaign_week``: Type A 6-8 weeks, spread
    evenly so that their effect windows end before the data do; Type B 4-6 weeks and Type C
    8-10 weeks at random start weeks. Type A campaigns start on the first day of a week and
    end on the last (so the effect windows below are whole weeks); B and C start on any day.
Targeting (the confounding)
    At the start of Type A campaign ``c``, ``logit P(target) = alpha_c + confounding *
    z(log(1 + past sales))``, past sales being all weeks before ``c``
    (``targeting_basis: history``) or the last ``targeting_recent_weeks`` (``recent``), and
    ``z`` standardised over households. ``alpha_c`` is solved so that each Type A campaign
    adds ``target_share_a / campaigns_a`` of the households to those ever targeted; with
    ``repeat_targeting: false`` a household targeted once is not eligible later. Type B
    targeting follows past sales and deal proneness, Type C past visits; **B and C have no
    effect on purchases** (they only cause coupon redemptions), so they are realistic noise
    for the analysis, not a second treatment.
Effect of Type A
    A targeted household's basket rate rises by ``tau_h`` baskets per week during the
    campaign's weeks and ``effect_post_weeks`` after. The extra baskets are ordinary baskets,
    so the effect on sales is ``tau_h`` times the household's expected basket value.
    ``effect_shape``: ``none`` (0), ``constant`` (``effect_baskets_per_week``), ``linear``
    (linear in standardised deal proneness, mean ``effect_baskets_per_week``, negative for
    about 5% of households), ``heterogeneous`` (large for deal-prone households with a
    mid-range visit rate, near zero elsewhere; population mean ``effect_baskets_per_week``).
    Every targeted household (A, B or C) redeems some of the campaign's coupons on baskets
    inside the campaign dates: the line becomes the coupon's product with a COUPON_DISC,
    and a row in coupon_redempt.csv. A redemption replaces a line and keeps its sales value,
    so redemptions do not add sales beyond the basket effect.

Truth files
    ``truth.csv`` has one row per household: ``true_propensity`` (probability of being
    targeted by at least one Type A campaign, ``1 - prod_c (1 - p_hc)`` from the model's
    targeting probabilities given the realised histories), the effect per week and over a
    window of the mean Type A length plus ``effect_post_weeks``, and the simulated traits.
    ``truth_campaigns.csv`` has one row per (household, Type A campaign): the targeting
    probability at that campaign (0 when not eligible), whether targeted, and the expected
    direct effect of being targeted by it over its effect window inside the data, holding the
    other campaigns' assignments fixed (for a negative ``tau_h`` the basket rate cannot fall
    below zero; this is accounted for exactly, given the simulated weekly rates).

Scale and determinism
    Households are simulated in fixed blocks of :data:`BLOCK` and time in segments that
    start at every campaign start (and at least every :data:`SEGMENT_WEEKS` weeks); each
    (segment, block) has its own random stream derived from the seed, and lines are
    appended to the CSV as they are made, so memory stays bounded (25,000 households x 102
    weeks fit well within 4 GB) and the files depend only on the parameters.

The entry point is :func:`~segtarget.data.synthetic.writer.write_synthetic` (its docstring
has a runnable example).
"""

from __future__ import annotations

from segtarget.data.synthetic.calendar import (
    COUPON_BASE,
    COUPONS_PER_CAMPAIGN,
    LENGTH_WEEKS,
    Coupons,
    make_calendar,
    make_coupons,
    settings,
)
from segtarget.data.synthetic.catalog import (
    COMMODITIES,
    DEPARTMENTS,
    FUEL_PRODUCTS,
    Catalog,
    Stores,
    make_catalog,
    make_stores,
    pick_products,
)
from segtarget.data.synthetic.households import (
    BLOCK,
    Households,
    effect_per_week,
    make_households,
    season,
)
from segtarget.data.synthetic.simulation import BASKET_BASE, SEGMENT_WEEKS, World
from segtarget.data.synthetic.truth import (
    DEMOGRAPHIC_VALUES,
    DISPLAY_CODES,
    MAILER_CODES,
    make_demographics,
    make_promotions,
    make_truth,
)
from segtarget.data.synthetic.writer import FILES, TX_COLUMNS, VERSION, generate, write_synthetic

__all__ = [
    "BASKET_BASE",
    "BLOCK",
    "COMMODITIES",
    "COUPONS_PER_CAMPAIGN",
    "COUPON_BASE",
    "DEMOGRAPHIC_VALUES",
    "DEPARTMENTS",
    "DISPLAY_CODES",
    "FILES",
    "FUEL_PRODUCTS",
    "LENGTH_WEEKS",
    "MAILER_CODES",
    "SEGMENT_WEEKS",
    "TX_COLUMNS",
    "VERSION",
    "Catalog",
    "Coupons",
    "Households",
    "Stores",
    "World",
    "effect_per_week",
    "generate",
    "make_calendar",
    "make_catalog",
    "make_coupons",
    "make_demographics",
    "make_households",
    "make_promotions",
    "make_stores",
    "make_truth",
    "pick_products",
    "season",
    "settings",
    "write_synthetic",
]
