"""The reference ERP's generated data: history up to yesterday, stock mid-cycle of its policy."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from ops.erp.generate import MX, POLICY_WINDOW_DAYS, Catalogue, default_end, generate_catalogue
from processors.inventory.policy import DemandStats, InventoryConfig, SupplyTerms, policy_levels

SMALL = {"n_products": 120, "n_customers": 30, "days": 120}


def _levels(cat: Catalogue) -> list[tuple[int, int, float]]:
    """(reorder point, order-up-to, daily demand) per stock row, recomputed independently."""
    suppliers = {s[0]: s for s in cat.rows["suppliers"]}
    out = []
    for p, w, *_ in cat.rows["stock"]:
        product = cat.rows["products"][p - 1]
        sup = suppliers[product[4]]
        window = cat.demand[p - 1, w - 1, -POLICY_WINDOW_DAYS:].astype(float)
        sold = np.nonzero(window)[0]
        since = len(window) - 1 - int(sold[-1]) if len(sold) else len(window)
        stats = DemandStats(float(window.mean()), float(window.std(ddof=1)), len(window), since)
        terms = SupplyTerms(sup[0], float(product[12]), float(sup[4]), float(sup[5]), sup[7],
                            sup[6])
        lv = policy_levels(stats, terms, product[15], InventoryConfig())
        out.append((lv.reorder_point, lv.order_up_to, lv.daily_demand))
    return out


def test_history_ends_the_day_before_seeding_in_mexico_city() -> None:
    # 02:00 UTC on 5 Dec is still 4 Dec in Mexico City: yesterday there is 3 Dec.
    assert default_end(datetime(2026, 12, 5, 2, 0, tzinfo=UTC)) == date(2026, 12, 3)
    cat = generate_catalogue(seed=3, **SMALL)
    last = max(o[5] for o in cat.rows["sales_orders"]).astimezone(MX).date()
    assert last == default_end()
    assert cat.start == default_end() - timedelta(days=SMALL["days"] - 1)


def test_an_explicit_end_fixes_the_history() -> None:
    cat = generate_catalogue(seed=3, end=date(2025, 6, 30), **SMALL)
    days = {o[6] for o in cat.rows["sales_orders"]}
    assert max(days) == date(2025, 6, 30)
    assert min(days) >= cat.start == date(2025, 3, 3)


def test_stock_starts_mid_cycle_of_each_pairs_own_policy() -> None:
    cat = generate_catalogue(seed=5, below_reorder_share=0.0, **SMALL)
    levels = _levels(cat)
    selling = [(row[2], lv) for row, lv in zip(cat.rows["stock"], levels, strict=True)
               if lv[2] > 0]
    assert len(selling) > 200
    for on_hand, (rop, s, _) in selling:
        assert rop < on_hand <= max(s, rop + 1)
    # a random phase, not everyone at the top of the cycle
    tops = sum(on_hand == max(s, rop + 1) for on_hand, (rop, s, _) in selling)
    assert tops < len(selling) / 2


def test_a_few_percent_start_below_the_reorder_point() -> None:
    cat = generate_catalogue(seed=5, **{**SMALL, "n_products": 600})
    levels = _levels(cat)
    with_rop = [(row[2], lv) for row, lv in zip(cat.rows["stock"], levels, strict=True)
                if lv[0] > 0]
    below = sum(on_hand <= rop for on_hand, (rop, _, _) in with_rop) / len(with_rop)
    assert 0.01 <= below <= 0.06
    everyone = generate_catalogue(seed=5, below_reorder_share=1.0, **SMALL)
    assert all(row[2] < lv[0] for row, lv in zip(everyone.rows["stock"], _levels(everyone),
                                                  strict=True) if lv[0] > 0)


def test_the_share_below_must_be_a_fraction() -> None:
    with pytest.raises(ValueError, match="below_reorder_share"):
        generate_catalogue(seed=1, below_reorder_share=1.5, **SMALL)
