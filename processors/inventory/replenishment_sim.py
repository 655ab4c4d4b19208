"""Periodic-review replenishment simulation for trade-off frontiers (pure, seeded).

One period is a day or a month (`period_days`). Each item has a demand series per period; the
first `history` periods only feed the demand estimates, then `horizon` periods are simulated.
In each simulated period t:

1. orders due at t arrive;
2. every `refit_every` periods the strategy re-plans from the demand inputs of periods < t
   (no look-ahead: nothing at or after t is read);
3. every `review_every` periods the position (on hand + on order) is reviewed and orders are
   placed: an order placed at t with a drawn lead time of ℓ periods arrives at the start of t+ℓ,
   so it can serve demand of t+ℓ; the risk period of an order is ℓ + one review period, which is
   what the policy's L + R means;
4. demand of t is served from stock on hand; what cannot be served is lost.

The first `warmup` periods are simulated but not measured: every strategy starts from the same
`initial_cover_periods` of average demand, and what that start leaves short before the first
orders can arrive says nothing about the strategies.

Lead times: each order draws N(L, σL) days, converted to whole periods (rounded, at least one,
at most `max_lead_periods`), from one generator seeded with `seed`: every strategy sees the same
sequence of draws for the same sequence of orders.

Strategies (`Strategy`): `plan(inputs)` at each refit gives per-item trigger and target levels;
`order_qty(i, position)` the quantity for an item at or below its trigger. Inventory is valued at
list cost, averaged over the start (after arrivals) and end (after demand) of each period.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from processors.inventory.policy import DAYS_PER_YEAR
from processors.inventory.simulation import SimItem


@dataclass(frozen=True, slots=True)
class DemandInputs:
    """Daily demand mean and standard deviation per item, estimated from periods < `period`,
    and that history itself (items × periods, for empirical quantiles)."""

    period: int
    mean: np.ndarray
    std: np.ndarray
    history: np.ndarray


class DemandEstimator(Protocol):
    def __call__(self, history: np.ndarray, period: int) -> tuple[np.ndarray, np.ndarray]:
        """(daily mean, daily std) per item from `history` (items × periods before `period`)."""
        ...


class Strategy(Protocol):
    name: str

    def plan(self, inputs: DemandInputs) -> tuple[np.ndarray, np.ndarray]:
        """(trigger, target) per item: order when position ≤ trigger (−1: never)."""
        ...

    def order_qty(self, item: int, position: int) -> tuple[int, float]:
        """(quantity, unit cost paid) for an item whose position is at or below its trigger."""
        ...


@dataclass(frozen=True, slots=True)
class RunConfig:
    history: int
    horizon: int
    period_days: float = 1.0
    review_every: int = 1
    refit_every: int = 28
    max_lead_periods: int = 400
    initial_cover_periods: float = 1.5
    warmup: int = 0
    holding_cost_rate: float = 0.25
    ordering_cost: float = 400.0
    seed: int = 7
    record_orders: bool = False

    def __post_init__(self) -> None:
        if min(self.history, self.horizon, self.review_every, self.refit_every) < 1:
            raise ValueError("history, horizon, review and refit periods must be at least 1")
        if not 0 <= self.warmup < self.horizon:
            raise ValueError("warmup must be in [0, horizon)")
        if self.period_days <= 0 or self.max_lead_periods < 1:
            raise ValueError("period_days and max_lead_periods must be positive")


@dataclass(frozen=True, slots=True)
class RunResult:
    """One simulated strategy: the frontier point and its costs (money at list cost)."""

    strategy: str
    items: int
    periods: int
    period_days: float
    demand_units: int
    served_units: int
    stockout_item_periods: int
    avg_inventory_value: float
    orders_placed: int
    holding_cost: float
    ordering_cost: float
    lost_margin: float
    orders: tuple[tuple[int, int, int], ...] = field(default=(), compare=False, repr=False)
    """(period, item, qty) of every order when `record_orders`."""

    @property
    def fill_rate(self) -> float:
        return self.served_units / self.demand_units if self.demand_units else 1.0

    @property
    def lost_units(self) -> int:
        return self.demand_units - self.served_units

    @property
    def total_cost(self) -> float:
        return self.holding_cost + self.ordering_cost + self.lost_margin

    @property
    def stockout_item_days(self) -> float:
        return self.stockout_item_periods * self.period_days


def trailing_estimator(window: int, period_days: float) -> DemandEstimator:
    """Mean and sample standard deviation of the last `window` periods, per day (σ scaled by
    1/√period_days: periods of independent days)."""

    def estimate(history: np.ndarray, period: int) -> tuple[np.ndarray, np.ndarray]:
        recent = np.clip(history[:, max(0, period - window):period], 0, None).astype(float)
        mean = recent.mean(axis=1) if recent.shape[1] else np.zeros(len(history))
        std = recent.std(axis=1, ddof=1) if recent.shape[1] > 1 else np.zeros(len(history))
        return mean / period_days, std / math.sqrt(period_days)

    return estimate


def run(demand: np.ndarray, items: Sequence[SimItem], strategy: Strategy,
        estimator: DemandEstimator, config: RunConfig) -> RunResult:
    """Simulate `strategy` on `demand` (items × periods, history first): module docstring."""
    demand = np.asarray(demand, dtype=np.int64)
    n, total = demand.shape
    if n != len(items):
        raise ValueError(f"{n} demand series for {len(items)} items")
    if total < config.history + config.horizon:
        raise ValueError(f"need {config.history + config.horizon} periods, got {total}")
    rng = np.random.default_rng(config.seed)
    pdays = config.period_days
    cost = np.array([it.terms.unit_cost for it in items], dtype=float)
    lead = [it.terms.lead_time_days for it in items]
    lead_sd = [it.terms.lead_time_sd_days for it in items]
    margin = np.array([max(0.0, it.unit_price - it.terms.unit_cost) if it.unit_price > 0 else 0.0
                       for it in items])
    arrivals = np.zeros((n, config.horizon + config.max_lead_periods + 1), dtype=np.int64)
    hist = config.history
    start_mean, _ = estimator(demand, hist)
    on_hand = np.round(start_mean * pdays * config.initial_cover_periods).astype(np.int64)
    on_order = np.zeros(n, dtype=np.int64)
    lost = np.zeros(n, dtype=np.int64)
    stockouts = orders = 0
    value_sum = 0.0
    trigger = np.full(n, -1.0)
    log: list[tuple[int, int, int]] = []
    for day in range(config.horizon):
        t = hist + day
        on_hand += arrivals[:, day]
        on_order -= arrivals[:, day]
        if day % config.refit_every == 0:
            mean, std = estimator(demand[:, :t], t)
            trigger, _ = strategy.plan(DemandInputs(t, mean, std, demand[:, :t]))
        if day % config.review_every == 0:
            position = on_hand + on_order
            for i in np.nonzero(position <= trigger)[0].tolist():
                qty, _ = strategy.order_qty(i, int(position[i]))
                if qty <= 0:
                    continue
                drawn = rng.normal(lead[i], lead_sd[i]) if lead_sd[i] > 0 else lead[i]
                periods = min(config.max_lead_periods, max(1, round(drawn / pdays)))
                arrivals[i, day + periods] += qty
                on_order[i] += qty
                orders += day >= config.warmup
                if config.record_orders:
                    log.append((day, i, qty))
        value_start = float(on_hand @ cost)
        today = demand[:, t]
        short = np.maximum(today - on_hand, 0)
        on_hand -= today - short
        if day >= config.warmup:
            lost += short
            stockouts += int(np.count_nonzero(short))
            value_sum += (value_start + float(on_hand @ cost)) / 2
    measured = config.horizon - config.warmup
    wanted = int(demand[:, hist + config.warmup:hist + config.horizon].sum())
    avg_value = value_sum / measured
    years = measured * pdays / DAYS_PER_YEAR
    return RunResult(
        strategy=strategy.name, items=n, periods=measured, period_days=pdays,
        demand_units=wanted, served_units=wanted - int(lost.sum()),
        stockout_item_periods=stockouts, avg_inventory_value=avg_value, orders_placed=orders,
        holding_cost=avg_value * config.holding_cost_rate * years,
        ordering_cost=orders * config.ordering_cost, lost_margin=float(lost @ margin),
        orders=tuple(log),
    )
