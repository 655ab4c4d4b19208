"""Replenishment policy: hand-computed cases (see the formulas in processors/inventory/policy.py).

Shared case: d̄ = 10/day, σd = 3, L = 4 days, list cost MXN 1,000, K = MXN 400, h = 25 %.
EOQ = √(2·3650·400 / 250) = √11680 = 108.07.
"""

from __future__ import annotations

import math
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from processors.inventory.policy import (
    DemandStats,
    InventoryConfig,
    PriceBreak,
    SupplyTerms,
    annual_total_cost,
    evaluate_policy,
    order_proposal,
    policy_levels,
    round_order_qty,
    supply_terms,
    trailing_demand_stats,
)
from schemas.erp import Product, Supplier, SupplierPriceBreak
from schemas.events import InventoryPosition

Z95 = 1.6448536269514722
DEMAND = DemandStats(mean=10.0, std=3.0, observed_days=90, days_since_last_sale=0)
CONFIG = InventoryConfig()


BASE_TERMS = SupplyTerms(supplier_id=7, unit_cost=1000.0, lead_time_days=4.0)


def terms(**changes: Any) -> SupplyTerms:
    return replace(BASE_TERMS, **changes)


def test_trailing_stats_mean_sample_std_and_recency() -> None:
    stats = trailing_demand_stats([0, 2, 4])
    assert stats.mean == 2 and stats.std == pytest.approx(2.0)  # var = (4+0+4)/2
    assert stats.days_since_last_sale == 0 and stats.observed_days == 3
    assert trailing_demand_stats([3, 0, 0]).days_since_last_sale == 2


def test_trailing_stats_uses_last_90_days_and_clips_returns() -> None:
    stats = trailing_demand_stats([100.0] * 10 + [1.0] * 90)
    assert stats.mean == 1 and stats.std == 0 and stats.observed_days == 90
    returns = trailing_demand_stats([-2, 4])
    assert returns.mean == 2 and returns.std == pytest.approx(math.sqrt(8))
    silent = trailing_demand_stats([0] * 120)
    assert silent.days_since_last_sale == 90 and silent.mean == 0
    assert trailing_demand_stats([]).observed_days == 0


def test_forecast_replaces_mean_and_std_but_keeps_recency() -> None:
    stats = trailing_demand_stats([0, 5, 0, 0]).with_forecast(7.5, 2.0)
    assert (stats.mean, stats.std, stats.days_since_last_sale, stats.source) == (
        7.5, 2.0, 2, "forecast")


def test_levels_without_lead_time_variability() -> None:
    levels = policy_levels(DEMAND, terms(), "B", CONFIG)
    ss = Z95 * math.sqrt(4 * 9)  # 9.87
    assert levels.z == pytest.approx(Z95)
    assert levels.safety_stock == 10 == math.ceil(ss)
    assert levels.reorder_point == 50 == math.ceil(40 + ss)
    assert levels.eoq == pytest.approx(math.sqrt(11680))
    assert levels.order_up_to == 50 + 109


def test_levels_with_lead_time_variability() -> None:
    levels = policy_levels(DEMAND, terms(lead_time_sd_days=1.0), "B", CONFIG)
    ss = Z95 * math.sqrt(4 * 9 + 100 * 1)  # 19.18
    assert levels.safety_stock == 20 and levels.reorder_point == math.ceil(40 + ss) == 60


def test_levels_with_review_period_and_class_service_levels() -> None:
    periodic = InventoryConfig(review_period_days=7)
    levels = policy_levels(DEMAND, terms(lead_time_sd_days=1.0), "B", periodic)
    ss = Z95 * math.sqrt(11 * 9 + 100)  # 23.20
    assert levels.safety_stock == 24 and levels.reorder_point == math.ceil(110 + ss) == 134
    a = policy_levels(DEMAND, terms(), "A", CONFIG)
    c = policy_levels(DEMAND, terms(), "C", CONFIG)
    assert a.safety_stock == math.ceil(2.0537489 * 6) == 13
    assert c.safety_stock == math.ceil(1.2815516 * 6) == 8
    custom = InventoryConfig(service_levels={"A": 0.99, "B": 0.97, "C": 0.5})
    assert policy_levels(DEMAND, terms(), "C", custom).safety_stock == 0
    with pytest.raises(ValueError):
        policy_levels(DEMAND, terms(), "Z", CONFIG)


def test_rounding_to_pack_multiple_and_minimum() -> None:
    assert round_order_qty(109, 6, 20) == 114
    assert round_order_qty(5, 6, 20) == 24  # the minimum itself rounds up to the pack
    assert round_order_qty(24, 6, 20) == 24
    assert round_order_qty(0, 6, 20) == 0


def test_order_quantity_is_up_to_minus_position_rounded_up() -> None:
    t = terms(pack_multiple=6, min_order_qty=20)
    levels = policy_levels(DEMAND, t, "B", CONFIG)
    deep = order_proposal(levels, t, 30, CONFIG)  # S − position = 159 − 30 = 129 > EOQ
    assert (deep.qty, deep.base_qty) == (132, 132)
    shallow = order_proposal(levels, t, 100, CONFIG)  # max(EOQ 108.07, 59) → 109 → 114
    assert shallow.qty == 114 and shallow.total_cost == 114_000
    assert shallow.break_min_qty is None and shallow.annual_savings == 0


def test_price_break_taken_when_total_cost_is_lower() -> None:
    t = terms(price_breaks=(PriceBreak(1, 1000.0), PriceBreak(200, 960.0)))
    levels = policy_levels(DEMAND, t, "B", CONFIG)
    proposal = order_proposal(levels, t, 50, CONFIG)  # base: max(108.07, 159 − 50) = 109
    tc_base = 3650 * 1000 + 400 * 3650 / 109 + 0.25 * 1000 * 109 / 2  # 3,677,019.5
    tc_break = 3650 * 960 + 400 * 3650 / 200 + 0.25 * 960 * 200 / 2  # 3,535,300
    assert annual_total_cost(109, 1000, 10, CONFIG) == pytest.approx(tc_base)
    assert (proposal.base_qty, proposal.qty, proposal.unit_cost) == (109, 200, 960)
    assert proposal.bumped and proposal.break_min_qty == 200
    assert proposal.annual_savings == pytest.approx(tc_base - tc_break)
    assert proposal.total_cost == 192_000


def test_price_break_skipped_when_holding_costs_more_or_cover_too_long() -> None:
    tiny = terms(price_breaks=(PriceBreak(1000, 999.0),))  # 0.1 % off for 100 days of stock
    proposal = order_proposal(policy_levels(DEMAND, tiny, "B", CONFIG), tiny, 50, CONFIG)
    assert proposal.qty == 109 and not proposal.bumped
    # 20 % off but 2,000 units is more than 6 months (1,825 units) of cover
    huge = terms(price_breaks=(PriceBreak(2000, 800.0),))
    proposal = order_proposal(policy_levels(DEMAND, huge, "B", CONFIG), huge, 50, CONFIG)
    assert proposal.qty == 109 and proposal.unit_cost == 1000


def test_break_reached_by_the_base_quantity_is_not_a_bump() -> None:
    t = terms(price_breaks=(PriceBreak(100, 980.0),))
    proposal = order_proposal(policy_levels(DEMAND, t, "B", CONFIG), t, 50, CONFIG)
    assert proposal.qty == proposal.base_qty == 109 and proposal.unit_cost == 980
    assert proposal.break_min_qty == 100 and not proposal.bumped


def test_no_demand_orders_nothing() -> None:
    idle = DemandStats(0.0, 0.0, 90, 90)
    proposal = order_proposal(policy_levels(idle, terms(), "C", CONFIG), terms(), 0, CONFIG)
    assert proposal.qty == 0 and proposal.total_cost == 0


def test_evaluate_policy_days_of_cover() -> None:
    pos = InventoryPosition(product_id=1, warehouse_id=2, on_hand=80, reserved=5, on_order=20)
    result = evaluate_policy(DEMAND, terms(), "B", pos, CONFIG)
    assert result.days_of_cover == 7.5 and result.position_cover_days == 9.5
    idle = evaluate_policy(DemandStats(0, 0, 90, 90), terms(), "B", pos, CONFIG)
    assert idle.days_of_cover is None


def test_supply_terms_from_erp_rows() -> None:
    product = Product(id=5, sku="MIC-2055516-0100S", brand_id=1, category_id=1, supplier_id=3,
                      model="Primacy 4", width=205, aspect_ratio=55, rim=16,
                      tire_size="205/55R16", load_index=91, speed_index="V",
                      cost=Decimal("1850.00"), list_price=Decimal("2599.00"),
                      weight_kg=Decimal("9.1"), abc_class="A")
    supplier = Supplier(id=3, name="Michelin México", lead_time_days=Decimal("12"),
                        lead_time_sd_days=Decimal("3"), min_order_qty=20, pack_multiple=4)
    breaks = [SupplierPriceBreak(supplier_id=3, product_id=5, min_qty=100,
                                 unit_cost=Decimal("1720.50")),
              SupplierPriceBreak(supplier_id=3, product_id=5, min_qty=40,
                                 unit_cost=Decimal("1776.00")),
              SupplierPriceBreak(supplier_id=3, product_id=6, min_qty=40, unit_cost=Decimal(1)),
              SupplierPriceBreak(supplier_id=9, product_id=5, min_qty=40, unit_cost=Decimal(1))]
    t = supply_terms(product, supplier, breaks)
    assert t == SupplyTerms(3, 1850.0, 12.0, 3.0, 4, 20,
                            (PriceBreak(40, 1776.0), PriceBreak(100, 1720.5)))
    assert t.unit_cost_for(39) == 1850 and t.unit_cost_for(40) == 1776
    assert t.unit_cost_for(250) == 1720.5


def test_config_validation() -> None:
    with pytest.raises(ValueError):
        InventoryConfig(service_levels={"A": 1.0})
    with pytest.raises(ValueError):
        SupplyTerms(1, 10.0, 3.0, pack_multiple=0)


def test_shortage_cost_sets_each_items_critical_ratio() -> None:
    """B = 100, c = 1,000, T = Q*/d̄ = 108.07 / 10 days: h·c·T = 0.25·1000·10.807/365 = 7.402,
    so the level is 100 / 107.402 = 0.9311 whatever the class."""
    config = InventoryConfig(shortage_cost=100.0)
    levels = policy_levels(DEMAND, terms(), "A", config)
    holding = 0.25 * 1000 * (math.sqrt(11680) / 10) / 365
    assert levels.service_level == pytest.approx(100 / (100 + holding))
    cheap = policy_levels(DEMAND, terms(unit_cost=10.0), "A", config)
    assert cheap.service_level > levels.service_level  # a cheap unit is worth stocking
    with pytest.raises(ValueError):
        InventoryConfig(shortage_cost=0.0)
