"""Sweeps of `topllantas bench policy`: every strategy over its knobs on one data set and seed.

- policy (the code the live stock flow runs, `PolicyStrategy`), three families whose union is
  its frontier (one policy, several knobs):
  - `class`: one service level per ABC segment, 0.70–0.995 (uniform, and A above/below C);
  - `critical ratio`: `InventoryConfig.shortage_cost` B swept from 0.002 to 50 times the median
    unit cost, each item at B / (B + h·c·T); with the planning ordering cost K at 0
    (order-up-to every review) and at its real value (EOQ cycles);
- min/max: (min days, max days) on a grid from 0 to a year (monthly data: 0–18 months of min,
  max 1–4 months above it), the best rule a careful buyer could tune;
- plain NB: one cycle service level (0.5–0.999) for every item, negative-binomial order-up-to.
Every point is simulated with the same lead-time draws (`seed`) and the same demand inputs.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from ops.bench.policy_data import Dataset
from processors.inventory.frontier import Point
from processors.inventory.policy import InventoryConfig
from processors.inventory.replenishment_sim import (
    DemandEstimator,
    RunConfig,
    RunResult,
    run,
    trailing_estimator,
)
from processors.inventory.strategies import (
    EmpiricalPolicy,
    MinMax,
    PlainNegativeBinomial,
    PolicyStrategy,
    policy_config,
)

CLASS_LEVELS = (0.70, 0.80, 0.90, 0.95, 0.98, 0.995)
SEGMENT_PATTERNS = ({"A": 0.90, "B": 0.95, "C": 0.98}, {"A": 0.95, "B": 0.98, "C": 0.995},
                    {"A": 0.80, "B": 0.90, "C": 0.95}, {"A": 0.98, "B": 0.95, "C": 0.90})
SHORTAGE_MULTIPLES = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0,
                      50.0)
NB_LEVELS = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999)
DAILY_MIN_DAYS = (0, 7, 15, 30, 45, 60, 90, 120, 180, 270, 365)
DAILY_SPREAD_DAYS = (15, 30, 60, 90)
MONTHLY_MIN = (0, 1, 2, 3, 4, 6, 9, 12, 18)
MONTHLY_SPREAD = (1, 2, 4)


@dataclass(frozen=True)
class Run:
    family: str
    label: str
    result: RunResult
    seconds: float

    def point(self) -> Point:
        r = self.result
        return Point(r.avg_inventory_value, r.fill_rate, float(r.lost_units), self.label)

    def row(self, dataset: str, seed: int) -> dict[str, Any]:
        r = self.result
        return {"dataset": dataset, "seed": seed, "family": self.family, "knobs": self.label,
                "avg_inventory_value": round(r.avg_inventory_value, 2),
                "fill_rate": round(r.fill_rate, 5), "lost_units": r.lost_units,
                "stockout_item_days": round(r.stockout_item_days, 1),
                "orders_placed": r.orders_placed, "holding_cost": round(r.holding_cost, 2),
                "ordering_cost": round(r.ordering_cost, 2), "lost_margin": round(r.lost_margin, 2),
                "total_cost": round(r.total_cost, 2), "seconds": round(self.seconds, 2)}


def run_config(ds: Dataset, seed: int, inventory: InventoryConfig) -> RunConfig:
    return RunConfig(history=ds.history, horizon=ds.horizon, period_days=ds.period_days,
                     refit_every=1 if ds.monthly else 7, max_lead_periods=ds.max_lead_periods,
                     warmup=3 if ds.monthly else 30,
                     holding_cost_rate=inventory.holding_cost_rate,
                     ordering_cost=inventory.ordering_cost, seed=seed)


def trailing(ds: Dataset) -> DemandEstimator:
    """The buyer's average: all 24 months of monthly history, the last 90 days of daily."""
    return trailing_estimator(24 if ds.monthly else 90, ds.period_days)


def policy_variants(ds: Dataset, base: InventoryConfig
                    ) -> Iterator[tuple[str, str, InventoryConfig]]:
    review = ds.period_days
    for level in CLASS_LEVELS:
        yield "class", f"A=B=C {level}", policy_config(
            base, review, levels={"A": level, "B": level, "C": level})
    for pattern in SEGMENT_PATTERNS:
        yield "class", "A/B/C " + "/".join(str(v) for v in pattern.values()), policy_config(
            base, review, levels=pattern)
    median_cost = statistics.median(it.terms.unit_cost for it in ds.items)
    for planning_k in (0.0, base.ordering_cost):
        for multiple in SHORTAGE_MULTIPLES:
            yield "critical ratio", f"B {multiple:g}×cost K {planning_k:g}", policy_config(
                base, review, shortage_cost=multiple * median_cost, ordering_cost=planning_k)


def minmax_grid(ds: Dataset) -> Iterator[tuple[float, float]]:
    if ds.monthly:
        for low in MONTHLY_MIN:
            for spread in MONTHLY_SPREAD:
                yield low * ds.period_days, (low + spread) * ds.period_days
    else:
        for low in DAILY_MIN_DAYS:
            for spread in DAILY_SPREAD_DAYS:
                yield float(low), float(low + spread)


def sweep(ds: Dataset, seed: int, base: InventoryConfig, estimator: DemandEstimator,
          policy_estimator: DemandEstimator | None = None,
          variants: Callable[[Dataset, InventoryConfig],
                             Iterator[tuple[str, str, InventoryConfig]]] = policy_variants,
          baselines: bool = True,
          policy: Callable[[Dataset, InventoryConfig], Any] | None = None) -> list[Run]:
    """All points of all strategies; `policy_estimator` gives the policy other demand inputs
    (the forecast module) than the baselines' trailing average."""
    import time

    cfg = run_config(ds, seed, base)
    runs: list[Run] = []

    def simulate(family: str, label: str, strategy: Any, est: DemandEstimator) -> None:
        began = time.perf_counter()
        result = run(ds.demand, ds.items, strategy, est, cfg)
        runs.append(Run(family, label, result, time.perf_counter() - began))

    make = policy or (lambda d, config: PolicyStrategy(d.items, config))
    for family, label, config in variants(ds, base):
        simulate(family, label, make(ds, config), policy_estimator or estimator)
    if baselines:
        for low, high in minmax_grid(ds):
            simulate("minmax", f"{low:g}/{high:g} days", MinMax(ds.items, low, high), estimator)
        for level in NB_LEVELS:
            simulate("plain_nb", f"{level}", PlainNegativeBinomial(ds.items, level,
                                                                    ds.period_days), estimator)
    return runs


def only(family: str) -> Callable[[Dataset, InventoryConfig],
                                  Iterator[tuple[str, str, InventoryConfig]]]:
    def variants(ds: Dataset, base: InventoryConfig
                 ) -> Iterator[tuple[str, str, InventoryConfig]]:
        return (v for v in policy_variants(ds, base) if v[0] == family)
    return variants


def empirical(ds: Dataset, config: InventoryConfig) -> EmpiricalPolicy:
    return EmpiricalPolicy(ds.items, config, period_days=ds.period_days)


def without_discrete(ds: Dataset, base: InventoryConfig
                     ) -> Iterator[tuple[str, str, InventoryConfig]]:
    return policy_variants(ds, replace(base, discrete_below_units=0.0))
