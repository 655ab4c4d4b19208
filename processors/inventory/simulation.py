"""Day-by-day replenishment simulation: the policy against a naive min/max (pure, seeded).

For each SKU a daily demand series is replayed: the first `history_days` only seed the demand
estimates, then `horizon_days` are simulated. Each day:

1. orders due that day arrive (start of day);
2. demand is served from stock on hand; what cannot be served is lost (a tire buyer goes
   elsewhere) and the SKU-day counts as a stockout day;
3. every `reestimate_every_days` the trailing-90-day demand is re-estimated, for both
   strategies alike;
4. orders are placed (end of day) when the position (on hand + on order) is at the trigger:
   - policy: position ≤ reorder point, quantity from `order_proposal` (EOQ / order-up-to,
     pack multiple, minimum, price breaks) — the same code as the live processor; with a review
     period R > 0 orders are only placed every R days;
   - naive min/max: position ≤ `naive_min_days` of average demand, order up to
     `naive_max_days` of average demand (rounded to pack multiple and minimum, it pays
     whatever price break its quantity reaches).
   Each order's lead time is drawn from N(L, σL), rounded up, at least one day, from a
   generator seeded with `seed` (each strategy starts from the same seed).

Both strategies start with `initial_cover_days` of average demand on hand and nothing on order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from processors.inventory.policy import (
    DAYS_PER_YEAR,
    InventoryConfig,
    PolicyLevels,
    SupplyTerms,
    order_proposal,
    policy_levels,
    round_order_qty,
    trailing_demand_stats,
)

Strategy = Literal["policy", "minmax"]


@dataclass(frozen=True, slots=True)
class SimItem:
    """One SKU (in one warehouse): supply terms, ABC class, and selling price (for the margin
    of lost sales; 0 leaves lost sales out of the total cost)."""

    terms: SupplyTerms
    abc_class: str
    unit_price: float = 0.0


@dataclass(frozen=True, slots=True)
class SimConfig:
    horizon_days: int = 365
    history_days: int = 90
    reestimate_every_days: int = 7
    naive_min_days: float = 30.0
    naive_max_days: float = 60.0
    initial_cover_days: float = 45.0
    seed: int = 7
    inventory: InventoryConfig = field(default_factory=InventoryConfig)

    def __post_init__(self) -> None:
        if self.horizon_days < 1 or self.history_days < 1 or self.reestimate_every_days < 1:
            raise ValueError("horizon, history and re-estimation period must be at least 1 day")
        if not 0 <= self.naive_min_days < self.naive_max_days:
            raise ValueError("naive min days must be below naive max days")


@dataclass(frozen=True, slots=True)
class SimResult:
    """Totals over all SKUs and simulated days, money in MXN.

    Inventory is valued at list cost. `cost_of_goods_sold` values each SKU's served units at
    the average price the strategy paid for that SKU (list cost if it bought none), so price
    breaks count and leftover stock does not. `revenue` = served units × price;
    `lost_margin` = unserved units × (price − list cost).
    """

    strategy: Strategy
    skus: int
    days: int
    stockout_days: int
    """SKU-days with demand that could not be served."""
    demand_units: int
    served_units: int
    avg_inventory_value: float
    """Mean over days of Σ on hand × unit cost, at the end of each day."""
    orders_placed: int
    units_purchased: int
    purchase_cost: float
    cost_of_goods_sold: float
    ordering_cost: float
    holding_cost: float
    revenue: float
    lost_margin: float
    fill_rate_by_class: dict[str, float]

    @property
    def fill_rate(self) -> float:
        return self.served_units / self.demand_units if self.demand_units else 1.0

    @property
    def net_margin(self) -> float:
        """Revenue − cost of goods sold − holding − ordering: what the strategy earns."""
        return self.revenue - self.cost_of_goods_sold - self.holding_cost - self.ordering_cost


@dataclass(slots=True)
class _Ledger:
    """What one run counts: per SKU (arrays) and in total."""

    on_hand: np.ndarray
    on_order: np.ndarray
    arrivals: np.ndarray  # SKU × day: units arriving at the start of that day
    demand_units: np.ndarray
    served_units: np.ndarray
    bought_units: np.ndarray
    bought_cost: np.ndarray
    stockout_days: int = 0
    orders: int = 0
    inventory_value: float = 0.0

    @classmethod
    def opening(cls, start: np.ndarray, cover_days: float, days: int) -> _Ledger:
        """`cover_days` of `start`'s mean demand on hand, nothing on order."""
        n = start.shape[0]
        return cls(on_hand=np.round(start.mean(axis=1) * cover_days).astype(np.int64),
                   on_order=np.zeros(n, dtype=np.int64),
                   arrivals=np.zeros((n, days), dtype=np.int64),
                   demand_units=np.zeros(n, dtype=np.int64),
                   served_units=np.zeros(n, dtype=np.int64),
                   bought_units=np.zeros(n, dtype=np.int64), bought_cost=np.zeros(n))

    def serve(self, day: int, today: np.ndarray, unit_cost: np.ndarray) -> None:
        """Steps 1 and 2: the day's arrivals, then its demand served from stock on hand."""
        arriving = self.arrivals[:, day]
        self.on_hand += arriving
        self.on_order -= arriving
        served = np.minimum(self.on_hand, today)
        self.on_hand -= served
        self.demand_units += today
        self.served_units += served
        self.stockout_days += int(np.count_nonzero(today > served))
        self.inventory_value += float(self.on_hand @ unit_cost)

    def order(self, i: int, qty: int, cost: float, arrive: int) -> None:
        if arrive < self.arrivals.shape[1]:
            self.arrivals[i, arrive] += qty
        self.on_order[i] += qty
        self.orders += 1
        self.bought_units[i] += qty
        self.bought_cost[i] += qty * cost


def simulate(demand: np.ndarray, items: Sequence[SimItem], strategy: Strategy,
             config: SimConfig | None = None) -> SimResult:
    """Simulate `strategy` on `demand` (SKUs × days, history first); see the module docstring."""
    config = config or SimConfig()
    demand = np.asarray(demand, dtype=np.int64)
    n, total_days = demand.shape
    hist, horizon = config.history_days, config.horizon_days
    if n != len(items):
        raise ValueError(f"{n} demand series for {len(items)} items")
    if total_days < hist + horizon:
        raise ValueError(f"need {hist + horizon} days of demand, got {total_days}")
    if strategy not in ("policy", "minmax"):
        raise ValueError(f"unknown strategy {strategy!r}")
    inv = config.inventory
    rng = np.random.default_rng(config.seed)
    terms = [item.terms for item in items]
    unit_cost = np.array([t.unit_cost for t in terms], dtype=float)
    lead = np.array([t.lead_time_days for t in terms], dtype=float)
    lead_sd = np.array([t.lead_time_sd_days for t in terms], dtype=float)
    longest = int(math.ceil(float((lead + 5 * lead_sd).max()))) + 2 if n else 2
    ledger = _Ledger.opening(demand[:, max(0, hist - 90):hist], config.initial_cover_days,
                             horizon + longest)
    trigger = np.full(n, -1.0)
    levels: list[PolicyLevels] = []
    max_level = np.zeros(n)
    review = inv.review_period_days if strategy == "policy" else 0.0

    for day in range(horizon):
        t = hist + day
        ledger.serve(day, demand[:, t], unit_cost)
        if day % config.reestimate_every_days == 0:
            window = demand[:, max(0, t - 89):t + 1]
            if strategy == "policy":
                levels, trigger = _policy_levels(window, items, inv)
            else:
                mean = window.mean(axis=1)
                trigger = np.where(mean > 0, mean * config.naive_min_days, -1.0)
                max_level = mean * config.naive_max_days
        if review and day % math.ceil(review) != 0:
            continue
        position = ledger.on_hand + ledger.on_order
        for i in np.nonzero(position <= trigger)[0].tolist():
            term = terms[i]
            pos = int(position[i])
            if strategy == "policy":
                proposal = order_proposal(levels[i], term, pos, inv)
                qty, cost = proposal.qty, proposal.unit_cost
            else:
                qty = round_order_qty(max_level[i] - pos, term.pack_multiple, term.min_order_qty)
                cost = term.unit_cost_for(qty)
            if qty <= 0:
                continue
            drawn = rng.normal(lead[i], lead_sd[i]) if lead_sd[i] > 0 else lead[i]
            ledger.order(i, qty, cost, day + max(1, math.ceil(drawn)))
    return _result(strategy, items, ledger, unit_cost, horizon, inv)


def _policy_levels(window: np.ndarray, items: Sequence[SimItem], inv: InventoryConfig
                   ) -> tuple[list[PolicyLevels], np.ndarray]:
    """Each SKU's policy levels from its trailing demand `window`, and its trigger (the reorder
    point; -1, never, without demand)."""
    stats = [trailing_demand_stats(row) for row in window.tolist()]
    levels = [policy_levels(s, items[i].terms, items[i].abc_class, inv)
              for i, s in enumerate(stats)]
    trigger = np.array([lv.reorder_point if lv.daily_demand > 0 else -1.0 for lv in levels])
    return levels, trigger


def _result(strategy: Strategy, items: Sequence[SimItem], ledger: _Ledger,
            unit_cost: np.ndarray, horizon: int, inv: InventoryConfig) -> SimResult:
    avg_value = ledger.inventory_value / horizon
    bought_units, bought_cost = ledger.bought_units, ledger.bought_cost
    demand_units, served_units = ledger.demand_units, ledger.served_units
    paid = np.divide(bought_cost, bought_units, out=unit_cost.copy(), where=bought_units > 0)
    price = np.array([item.unit_price for item in items], dtype=float)
    margin = np.where(price > 0, np.maximum(price - unit_cost, 0.0), 0.0)
    by_class: dict[str, float] = {}
    classes = np.array([item.abc_class for item in items])
    for cls in sorted(set(classes.tolist())):
        mask = classes == cls
        wanted = int(demand_units[mask].sum())
        by_class[cls] = int(served_units[mask].sum()) / wanted if wanted else 1.0
    return SimResult(
        strategy=strategy, skus=len(items), days=horizon, stockout_days=ledger.stockout_days,
        demand_units=int(demand_units.sum()), served_units=int(served_units.sum()),
        avg_inventory_value=avg_value, orders_placed=ledger.orders,
        units_purchased=int(bought_units.sum()), purchase_cost=float(bought_cost.sum()),
        cost_of_goods_sold=float(served_units @ paid),
        ordering_cost=ledger.orders * inv.ordering_cost,
        holding_cost=avg_value * inv.holding_cost_rate * horizon / DAYS_PER_YEAR,
        revenue=float(served_units @ price),
        lost_margin=float((demand_units - served_units) @ margin),
        fill_rate_by_class=by_class,
    )
