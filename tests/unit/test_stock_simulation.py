"""The one-year simulation: conservation, determinism, and the lead-time case naive min/max
gets wrong."""

from __future__ import annotations

import numpy as np
import pytest

from processors.inventory.policy import PriceBreak, SupplyTerms
from processors.inventory.simulation import SimConfig, SimItem, simulate

CONFIG = SimConfig(horizon_days=120, history_days=90, seed=3)


def steady(days: int = 210, per_day: int = 2) -> np.ndarray:
    return np.full((1, days), per_day, dtype=np.int64)


def item(lead: float, lead_sd: float = 0.0, pack_multiple: int = 1, min_order_qty: int = 1,
         price_breaks: tuple[PriceBreak, ...] = ()) -> SimItem:
    terms = SupplyTerms(1, 1000.0, lead, lead_sd, pack_multiple, min_order_qty, price_breaks)
    return SimItem(terms, "A", unit_price=1400.0)


def test_short_lead_time_both_strategies_serve_everything() -> None:
    for strategy in ("policy", "minmax"):
        result = simulate(steady(), [item(5)], strategy, CONFIG)
        assert result.stockout_days == 0 and result.fill_rate == 1.0
        assert result.demand_units == 240 and result.orders_placed >= 1
        assert result.lost_margin == 0


def test_lead_time_longer_than_the_naive_minimum_stocks_out_only_naive() -> None:
    demand = steady()
    policy = simulate(demand, [item(40)], "policy", CONFIG)
    naive = simulate(demand, [item(40)], "minmax", CONFIG)
    assert policy.stockout_days == 0
    assert naive.stockout_days > 0 and naive.fill_rate < 1.0
    assert naive.lost_margin == pytest.approx((naive.demand_units - naive.served_units) * 400)


def test_units_are_conserved_and_costs_add_up() -> None:
    rng = np.random.default_rng(5)
    demand = rng.poisson([[3.0], [0.4], [0.05]], size=(3, 300)).astype(np.int64)
    items = [item(10, 3, pack_multiple=4, min_order_qty=8,
                  price_breaks=(PriceBreak(40, 960.0),)) for _ in range(3)]
    result = simulate(demand, items, "policy", SimConfig(horizon_days=200, seed=1))
    assert result.served_units <= result.demand_units == int(demand[:, 90:290].sum())
    assert result.units_purchased % 4 == 0
    assert result.revenue == pytest.approx(result.served_units * 1400)
    assert result.net_margin == pytest.approx(result.revenue - result.cost_of_goods_sold
                                              - result.holding_cost - result.ordering_cost)
    assert result.cost_of_goods_sold <= result.served_units * 1000
    assert set(result.fill_rate_by_class) == {"A"}


def test_same_seed_same_result_and_seed_matters_with_variable_lead_times() -> None:
    rng = np.random.default_rng(9)
    demand = rng.poisson(2.0, size=(4, 300)).astype(np.int64)
    items = [item(12, 4) for _ in range(4)]
    config = SimConfig(horizon_days=200)
    assert simulate(demand, items, "policy", config) == simulate(demand, items, "policy", config)
    runs = {simulate(demand, items, "minmax", SimConfig(horizon_days=200, seed=s))
            .avg_inventory_value for s in range(4)}
    assert len(runs) > 1


def test_input_validation() -> None:
    with pytest.raises(ValueError):
        simulate(steady(100), [item(5)], "policy", CONFIG)  # fewer days than history + horizon
    with pytest.raises(ValueError):
        simulate(steady(), [item(5), item(5)], "policy", CONFIG)
    with pytest.raises(ValueError):
        SimConfig(naive_min_days=60, naive_max_days=30)
