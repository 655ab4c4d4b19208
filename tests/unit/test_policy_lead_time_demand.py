"""Discrete lead-time demand: hand-computed Poisson and negative-binomial reorder points.

Poisson(2) cumulative: 0.1353, 0.4060, 0.6767, 0.8571, 0.9473, 0.9834, ...
Negative binomial with mean 2 and variance 4 (r = 2, p = 0.5), cumulative:
0.25, 0.5, 0.6875, 0.8125, 0.890625, 0.9375, 0.96484, 0.98047, ...
"""

from __future__ import annotations

import math

import pytest

from processors.inventory.lead_time_demand import (
    discrete_quantile,
    distribution_for,
    empirical_quantile,
)
from processors.inventory.policy import DemandStats, InventoryConfig, SupplyTerms, policy_levels

TERMS = SupplyTerms(supplier_id=1, unit_cost=500.0, lead_time_days=4.0)


def test_poisson_quantiles_by_hand() -> None:
    assert distribution_for(2.0, 2.0) == "poisson"
    assert discrete_quantile(2.0, 2.0, 0.85) == 3  # 0.8571
    assert discrete_quantile(2.0, 2.0, 0.86) == 4  # 0.9473
    assert discrete_quantile(2.0, 2.0, 0.95) == 5  # 0.9834
    assert discrete_quantile(2.0, 1.0, 0.95) == 5  # under-dispersed is treated as Poisson
    assert discrete_quantile(0.0, 0.0, 0.99) == 0


def test_negative_binomial_quantiles_by_hand() -> None:
    assert distribution_for(2.0, 4.0) == "negative_binomial"
    assert discrete_quantile(2.0, 4.0, 0.89) == 4  # 0.890625
    assert discrete_quantile(2.0, 4.0, 0.95) == 6  # 0.96484
    assert discrete_quantile(2.0, 4.0, 0.98) == 7  # 0.98047


def test_poisson_item_reorder_point_in_the_policy() -> None:
    """d̄ = 0.5/day, σd² = 0.5 (Poisson days), L = 4: lead-time demand Poisson(2)."""
    demand = DemandStats(mean=0.5, std=math.sqrt(0.5), observed_days=90, days_since_last_sale=1)
    config = InventoryConfig(service_levels={"A": 0.98, "B": 0.95, "C": 0.85})
    b = policy_levels(demand, TERMS, "B", config)
    assert (b.reorder_point, b.safety_stock) == (5, 3)
    assert policy_levels(demand, TERMS, "C", config).reorder_point == 3
    # the normal formula would ask for ⌈2 + 1.0364·√2⌉ = 4 at 85 %
    normal = policy_levels(demand, TERMS, "C",
                           InventoryConfig(service_levels=config.service_levels,
                                           discrete_below_units=0))
    assert normal.reorder_point == 4


def test_lumpy_item_uses_the_negative_binomial() -> None:
    demand = DemandStats(mean=0.5, std=1.0, observed_days=90, days_since_last_sale=3)
    assert policy_levels(demand, TERMS, "B", InventoryConfig()).reorder_point == 6


def test_empirical_quantile_of_window_totals() -> None:
    history = [0, 1, 0, 0, 3, 0, 1, 0]  # 2-period totals: 1 1 0 3 3 1 1
    assert empirical_quantile(history, 2, 0.5) == 1
    assert empirical_quantile(history, 2, 0.8) == 3
    assert empirical_quantile([2, 2], 4, 0.9) == 8  # no full window: rate × periods
    with pytest.raises(ValueError):
        empirical_quantile(history, 0, 0.9)
    with pytest.raises(ValueError):
        discrete_quantile(1.0, 1.0, 1.0)
