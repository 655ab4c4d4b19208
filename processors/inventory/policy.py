"""Replenishment policy for one product in one warehouse.

Notation (quantities in tires, times in days):

- d̄, σd: mean and standard deviation of daily demand (a forecast when there is one, else the
  trailing 90 days, `trailing_demand_stats`).
- L, σL: supplier lead time and its standard deviation.
- R: review period; 0 means continuous review (every stock change is looked at).
- z: standard-normal quantile of the cycle service level of the SKU's ABC class
  (A 98 %, B 95 %, C 90 % by default): the probability of not running out in a cycle.
- h: annual holding cost rate (share of unit cost), K: cost of placing one order (MXN),
  D = 365·d̄: annual demand, c(q): unit cost for an order of q units (price breaks).

Formulas:

- safety stock      SS  = z·√((L+R)·σd² + d̄²·σL²)            (demand and lead-time variability)
- reorder point     ROP = d̄·(L+R) + SS                        (R = 0: d̄·L + SS)
                    Slow and intermittent items (d̄·(L+R) below `discrete_below_units`): ROP is
                    the service-level quantile of a Poisson / negative binomial lead-time
                    demand with mean d̄·(L+R) and variance (L+R)·σd² + d̄²·σL², and
                    SS = ROP − d̄·(L+R) (processors/inventory/lead_time_demand.py).
- cycle quantity    Q*  = √(2·D·K / (h·c₀))                   (EOQ at the list cost c₀,
                                                             at most the overstock cover)
- order-up-to       S   = ROP + max(1, Q*)                    ((s, S): order back up to S)
- order quantity    q   = max(Q*, S − position), rounded UP to the pack multiple, at least the
                          minimum order (itself rounded up to the pack multiple)
- price breaks      each break above q is a candidate (rounded the same way); the one with the
                    lowest annual total cost TC(q) = D·c(q) + K·D/q + h·c(q)·q/2 wins
                    (purchase + ordering + holding: a bigger order holds more units longer).
                    A candidate that would leave more than the overstock cover is skipped.
- days of cover     available / d̄

SS, ROP and S are rounded up to whole tires. Without demand (d̄ = 0) nothing is ordered.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from statistics import NormalDist
from typing import Literal

from processors.inventory.lead_time_demand import discrete_quantile
from schemas.erp import Product, Supplier, SupplierPriceBreak
from schemas.events import InventoryPosition

DEFAULT_SERVICE_LEVELS: Mapping[str, float] = {"A": 0.98, "B": 0.95, "C": 0.90}
DAYS_PER_YEAR = 365.0
DAYS_PER_MONTH = DAYS_PER_YEAR / 12
_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class InventoryConfig:
    """Settings of the inventory processor: policy and alert thresholds.

    - `service_levels`: cycle service level per ABC class.
    - `review_period_days`: R; 0 = continuous review.
    - `holding_cost_rate`: annual holding cost as a share of unit cost (0.25 = 25 %).
    - `ordering_cost`: MXN per purchase order placed (K).
    - `overstock_months`: cover above this is `sobrestock`; also caps price-break bumps.
    - `no_movement_days`: no sales for this long with stock on hand is `sin_movimiento`.
    - `warning_days`: with continuous review, `medio` when the reorder point is this close
      (in days of demand); with R > 0 the review period is used instead.
    - `opportunity_window_days`: a price break is an `oportunidad` when the reorder point is
      at most this many days of demand away.
    - `hysteresis_days`: a shortage alert only eases once the position is this many days of
      demand past the threshold, so a returned tire does not flap an alert off and on.
    - `discrete_below_units`: expected lead-time demand below which the reorder point comes
      from a discrete (Poisson / negative binomial) distribution instead of the normal one;
      0 turns it off.
    - `shortage_cost`: MXN per unit of demand not served. When set, each item's service level
      is its critical ratio B / (B + h·c·T) (`item_service_level`) instead of its class's:
      cheap, fast items get high service, expensive slow ones less, which buys more fill rate
      per peso of stock than one level per class.
    """

    service_levels: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_SERVICE_LEVELS))
    review_period_days: float = 0.0
    holding_cost_rate: float = 0.25
    ordering_cost: float = 400.0
    overstock_months: float = 6.0
    no_movement_days: int = 90
    warning_days: float = 7.0
    opportunity_window_days: float = 30.0
    hysteresis_days: float = 1.0
    discrete_below_units: float = 30.0
    shortage_cost: float | None = None

    def __post_init__(self) -> None:
        for cls, level in self.service_levels.items():
            if not 0.5 <= level < 1:
                raise ValueError(f"service level of class {cls} must be in [0.5, 1), got {level}")
        if self.review_period_days < 0 or self.holding_cost_rate < 0 or self.ordering_cost < 0:
            raise ValueError("review period, holding cost rate and ordering cost must be >= 0")
        if self.shortage_cost is not None and self.shortage_cost <= 0:
            raise ValueError("shortage_cost must be positive when set")
        if self.overstock_months <= 0 or self.no_movement_days <= 0:
            raise ValueError("overstock_months and no_movement_days must be positive")

    @property
    def overstock_days(self) -> float:
        return self.overstock_months * DAYS_PER_MONTH

    def service_level(self, abc_class: str) -> float:
        try:
            return self.service_levels[abc_class]
        except KeyError:
            raise ValueError(f"no service level for ABC class {abc_class!r}") from None


@dataclass(frozen=True, slots=True)
class DemandStats:
    """Daily demand of one product in one warehouse.

    `days_since_last_sale` counts back from the last observed day (0 = sold that day); when
    nothing sold in the observed days it equals `observed_days`, i.e. "at least that long".
    """

    mean: float
    std: float
    observed_days: int
    days_since_last_sale: int
    source: Literal["trailing", "forecast"] = "trailing"

    def with_forecast(self, mean: float, std: float) -> DemandStats:
        """Use a forecast's daily mean and standard deviation, keeping the sales recency."""
        return replace(self, mean=max(0.0, mean), std=max(0.0, std), source="forecast")


def trailing_demand_stats(daily_qty: Sequence[float], window: int = 90) -> DemandStats:
    """Mean and sample standard deviation (n − 1) of the last `window` days, oldest first.

    Negative days (more returns than sales) count as zero demand. Days without sales must be
    present as zeros: the series is one value per calendar day.
    """
    if window < 1:
        raise ValueError("window must be at least one day")
    values = [q if q > 0 else 0.0 for q in map(float, daily_qty[-window:])]
    n = len(values)
    if n == 0:
        return DemandStats(0.0, 0.0, 0, 0)
    total = sum(values)
    mean = total / n
    if n > 1:
        var = max(0.0, (sum(v * v for v in values) - total * mean) / (n - 1))
    else:
        var = 0.0
    since = n
    for i in range(n - 1, -1, -1):
        if values[i] > 0:
            since = n - 1 - i
            break
    return DemandStats(mean, math.sqrt(var), n, since)


@dataclass(frozen=True, slots=True)
class PriceBreak:
    """From `min_qty` units on, the supplier charges `unit_cost` per unit."""

    min_qty: int
    unit_cost: float


@dataclass(frozen=True, slots=True)
class SupplyTerms:
    """What the supplier of a product asks: cost, lead time, pack multiple, minimum, breaks."""

    supplier_id: int
    unit_cost: float
    lead_time_days: float
    lead_time_sd_days: float = 0.0
    pack_multiple: int = 1
    min_order_qty: int = 1
    price_breaks: tuple[PriceBreak, ...] = ()

    def __post_init__(self) -> None:
        if self.pack_multiple < 1 or self.min_order_qty < 1:
            raise ValueError("pack_multiple and min_order_qty must be at least 1")
        if self.lead_time_days < 0 or self.lead_time_sd_days < 0 or self.unit_cost < 0:
            raise ValueError("lead time, its deviation and unit cost must be >= 0")
        object.__setattr__(self, "price_breaks",
                           tuple(sorted(self.price_breaks, key=lambda b: b.min_qty)))

    def break_for(self, qty: int) -> PriceBreak | None:
        """The break with the largest `min_qty` ≤ qty, if any."""
        found = None
        for brk in self.price_breaks:
            if brk.min_qty > qty:
                break
            found = brk
        return found

    def unit_cost_for(self, qty: int) -> float:
        """c(q): the cost of `break_for(q)`, else the list cost."""
        brk = self.break_for(qty)
        return self.unit_cost if brk is None else brk.unit_cost

    def round_qty(self, raw: float) -> int:
        return round_order_qty(raw, self.pack_multiple, self.min_order_qty)


def round_order_qty(raw: float, pack_multiple: int, min_order_qty: int) -> int:
    """Round a wanted quantity UP to the pack multiple and to at least the minimum order
    (itself rounded up to the pack multiple); nothing wanted gives 0."""
    if raw <= _EPS:
        return 0
    qty = math.ceil(raw / pack_multiple - _EPS) * pack_multiple
    return max(qty, math.ceil(min_order_qty / pack_multiple) * pack_multiple)


def supply_terms(product: Product, supplier: Supplier,
                 breaks: Iterable[SupplierPriceBreak] = ()) -> SupplyTerms:
    """Supply terms from ERP rows; breaks of other products or suppliers are ignored."""
    return SupplyTerms(
        supplier_id=supplier.id,
        unit_cost=float(product.cost),
        lead_time_days=float(supplier.lead_time_days),
        lead_time_sd_days=float(supplier.lead_time_sd_days),
        pack_multiple=supplier.pack_multiple,
        min_order_qty=supplier.min_order_qty,
        price_breaks=tuple(
            PriceBreak(b.min_qty, float(b.unit_cost)) for b in breaks
            if b.product_id == product.id and b.supplier_id == supplier.id),
    )


@lru_cache(maxsize=64)
def service_z(service_level: float) -> float:
    """z such that Φ(z) = service level (standard normal quantile)."""
    return NormalDist().inv_cdf(service_level)


@dataclass(frozen=True, slots=True)
class PolicyLevels:
    """The stock levels of the policy; they depend on demand and supply, not on the position."""

    service_level: float
    z: float
    daily_demand: float
    demand_std: float
    lead_time_days: float
    review_period_days: float
    safety_stock: int
    reorder_point: int
    eoq: float
    order_up_to: int


def policy_levels(demand: DemandStats, terms: SupplyTerms, abc_class: str,
                  config: InventoryConfig) -> PolicyLevels:
    """SS, ROP, Q* and S of the module docstring."""
    d, sd = demand.mean, demand.std
    annual = d * DAYS_PER_YEAR
    unit_holding = config.holding_cost_rate * terms.unit_cost
    cap = d * config.overstock_days
    eoq = math.sqrt(2 * annual * config.ordering_cost / unit_holding) if unit_holding > 0 else cap
    eoq = min(eoq, cap) if cap > 0 else eoq
    level = item_service_level(config, abc_class, terms, d, eoq)
    z = service_z(level)
    lr = terms.lead_time_days + config.review_period_days
    sigma = math.sqrt(lr * sd * sd + d * d * terms.lead_time_sd_days ** 2)
    expected = d * lr
    if 0 < expected < config.discrete_below_units:
        ss = max(0.0, discrete_quantile(expected, sigma * sigma, level) - expected)
    else:
        ss = max(0.0, z * sigma)
    rop = math.ceil(expected + ss - _EPS)
    return PolicyLevels(
        service_level=level, z=z, daily_demand=d, demand_std=sd,
        lead_time_days=terms.lead_time_days, review_period_days=config.review_period_days,
        safety_stock=math.ceil(ss - _EPS), reorder_point=rop, eoq=eoq,
        order_up_to=rop + max(1, math.ceil(eoq - _EPS)),
    )


def item_service_level(config: InventoryConfig, abc_class: str, terms: SupplyTerms,
                       daily_demand: float, eoq: float) -> float:
    """The class's service level; with `shortage_cost` set, the item's own critical ratio
    B / (B + h·c·T) instead, T the cycle (the longest of Q*, the minimum order and the review
    period, in years): one more unit of stock costs h·c a year and is at risk once a cycle."""
    if config.shortage_cost is None:
        return config.service_level(abc_class)
    cycle_units = max(eoq, float(terms.min_order_qty), daily_demand * config.review_period_days)
    cycle_days = cycle_units / daily_demand if daily_demand > 0 else DAYS_PER_YEAR
    holding = config.holding_cost_rate * terms.unit_cost * cycle_days / DAYS_PER_YEAR
    level = config.shortage_cost / (config.shortage_cost + holding) if holding > 0 else 0.999
    return min(max(level, 0.01), 0.999)


@dataclass(frozen=True, slots=True)
class OrderProposal:
    """What to order now: `qty` at `unit_cost`; `base_qty` is the quantity before price breaks.

    `annual_cost` is TC(qty); `annual_savings` = TC(base_qty) − TC(qty) ≥ 0.
    """

    qty: int
    unit_cost: float
    total_cost: float
    base_qty: int
    base_unit_cost: float
    break_min_qty: int | None
    annual_cost: float
    annual_savings: float

    @property
    def bumped(self) -> bool:
        """True when a price break made the order bigger than the policy alone would."""
        return self.qty > self.base_qty


def annual_total_cost(qty: int, unit_cost: float, daily_demand: float,
                      config: InventoryConfig) -> float:
    """TC(q) = D·c + K·D/q + h·c·q/2 (MXN a year)."""
    annual = daily_demand * DAYS_PER_YEAR
    return (annual * unit_cost + config.ordering_cost * annual / qty
            + config.holding_cost_rate * unit_cost * qty / 2)


def order_proposal(levels: PolicyLevels, terms: SupplyTerms, position: int,
                   config: InventoryConfig) -> OrderProposal:
    """q = max(Q*, S − position) rounded; then the cheapest price break (module docstring)."""
    d = levels.daily_demand
    base_qty = terms.round_qty(max(levels.eoq, levels.order_up_to - position)) if d > 0 else 0
    base_cost = terms.unit_cost_for(base_qty) if base_qty else terms.unit_cost
    if base_qty == 0:
        return OrderProposal(0, base_cost, 0.0, 0, base_cost, None, 0.0, 0.0)
    best_qty, best_cost = base_qty, base_cost
    base_tc = best_tc = annual_total_cost(base_qty, base_cost, d, config)
    cap = d * config.overstock_days
    for brk in terms.price_breaks:
        if brk.min_qty <= base_qty:
            continue
        qty = terms.round_qty(brk.min_qty)
        if position + qty > cap:
            break
        cost = terms.unit_cost_for(qty)
        tc = annual_total_cost(qty, cost, d, config)
        if tc < best_tc - _EPS:
            best_qty, best_cost, best_tc = qty, cost, tc
    applied = terms.break_for(best_qty)
    return OrderProposal(
        qty=best_qty, unit_cost=best_cost, total_cost=best_qty * best_cost, base_qty=base_qty,
        base_unit_cost=terms.unit_cost,
        # a break at or above the list cost (e.g. a min_qty 1 row) is no discount
        break_min_qty=applied.min_qty if applied and best_cost < terms.unit_cost else None,
        annual_cost=best_tc,
        annual_savings=max(0.0, base_tc - best_tc),
    )


@dataclass(frozen=True, slots=True)
class PolicyResult:
    """Policy levels and the order proposal for one position, with cover and sales recency."""

    levels: PolicyLevels
    proposal: OrderProposal
    terms: SupplyTerms
    days_of_cover: float | None
    position_cover_days: float | None
    days_since_last_sale: int
    observed_days: int


def evaluate_policy(demand: DemandStats, terms: SupplyTerms, abc_class: str,
                    position: InventoryPosition, config: InventoryConfig) -> PolicyResult:
    """Everything the alert state machine needs for one product × warehouse right now."""
    levels = policy_levels(demand, terms, abc_class, config)
    pos = position.position
    d = levels.daily_demand
    return PolicyResult(
        levels=levels,
        proposal=order_proposal(levels, terms, pos, config),
        terms=terms,
        days_of_cover=position.available / d if d > 0 else None,
        position_cover_days=pos / d if d > 0 else None,
        days_since_last_sale=demand.days_since_last_sale,
        observed_days=demand.observed_days,
    )
