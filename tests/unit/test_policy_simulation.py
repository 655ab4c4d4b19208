"""The frontier simulation: no look-ahead (future demand changed after period t leaves every
decision up to t as it was), for each strategy and for the forecast module's inputs."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from ops.bench.policy_data import Dataset, synthesise_terms
from ops.bench.policy_forecast import ForecastEstimator
from processors.inventory.policy import DAYS_PER_MONTH, InventoryConfig, SupplyTerms
from processors.inventory.replenishment_sim import RunConfig, run, trailing_estimator
from processors.inventory.simulation import SimItem
from processors.inventory.strategies import (
    EmpiricalPolicy,
    MinMax,
    PlainNegativeBinomial,
    PolicyStrategy,
    policy_config,
)

CUT = 40  # simulated day after which the future is rewritten


def daily_case() -> tuple[np.ndarray, np.ndarray, list[SimItem]]:
    rng = np.random.default_rng(4)
    demand = rng.poisson([[4.0], [0.3], [1.5], [0.05]], size=(4, 250)).astype(np.int64)
    changed = demand.copy()
    changed[:, 90 + CUT:] = rng.poisson(6.0, size=changed[:, 90 + CUT:].shape)
    items = [SimItem(SupplyTerms(1, cost, lead, 2.0, 1, minimum), "B", cost * 1.4)
             for cost, lead, minimum in ((100, 10, 1), (900, 20, 2), (300, 5, 4), (50, 12, 10))]
    return demand, changed, items


def decisions_until(result_orders: tuple[tuple[int, int, int], ...], day: int) -> list:
    return [o for o in result_orders if o[0] <= day]


@pytest.mark.parametrize("make", [
    lambda items: PolicyStrategy(items, policy_config(InventoryConfig(), 1.0)),
    lambda items: PolicyStrategy(items, policy_config(InventoryConfig(), 1.0,
                                                      shortage_cost=500.0)),
    lambda items: EmpiricalPolicy(items, policy_config(InventoryConfig(), 1.0)),
    lambda items: MinMax(items, 10, 30),
    lambda items: PlainNegativeBinomial(items, 0.95, 1.0),
])
def test_changing_future_demand_changes_no_decision_before_it(make) -> None:  # type: ignore[no-untyped-def]
    demand, changed, items = daily_case()
    config = RunConfig(history=90, horizon=150, refit_every=7, seed=2, record_orders=True)
    estimator = trailing_estimator(90, 1.0)
    before = run(demand, items, make(items), estimator, config)
    after = run(changed, items, make(items), estimator, config)
    assert decisions_until(before.orders, CUT) == decisions_until(after.orders, CUT)
    assert decisions_until(before.orders, CUT)  # something was decided
    assert before.orders != after.orders  # and the rewritten future did matter


def test_forecast_inputs_read_no_future_demand() -> None:
    rng = np.random.default_rng(8)
    demand = rng.poisson([[3.0], [0.6], [1.2]], size=(3, 36)).astype(np.int64)
    changed = demand.copy()
    changed[:, 30:] = 9
    dates = pd.date_range("2020-01-01", periods=36, freq="MS")
    items = synthesise_terms(demand[:, :20], monthly=True, seed=1)
    config = RunConfig(history=20, horizon=16, period_days=DAYS_PER_MONTH, refit_every=1,
                       max_lead_periods=3, seed=1, record_orders=True)
    orders = []
    for data in (demand, changed):
        ds = Dataset("t", data, items, ["a", "b", "c"], dates, DAYS_PER_MONTH, 20, 16, 3)
        estimator = ForecastEstimator(ds, 6, trailing_estimator(24, DAYS_PER_MONTH),
                                      DAYS_PER_MONTH, cache_dir=None)
        strategy = PolicyStrategy(items, policy_config(InventoryConfig(), DAYS_PER_MONTH))
        orders.append(run(data, items, strategy, estimator, config).orders)
    assert decisions_until(orders[0], 10) == decisions_until(orders[1], 10)
    assert orders[0] != orders[1]


def test_warmup_is_simulated_but_not_measured() -> None:
    demand, _, items = daily_case()
    config = RunConfig(history=90, horizon=150, seed=2)
    full = run(demand, items, MinMax(items, 10, 30), trailing_estimator(90, 1.0), config)
    later = run(demand, items, MinMax(items, 10, 30), trailing_estimator(90, 1.0),
                replace(config, warmup=30))
    assert later.demand_units == int(demand[:, 120:240].sum()) < full.demand_units
    assert later.orders_placed < full.orders_placed and later.periods == 120
    with pytest.raises(ValueError):
        RunConfig(history=90, horizon=150, warmup=150)
