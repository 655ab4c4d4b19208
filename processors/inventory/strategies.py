"""Replenishment strategies for `replenishment_sim.run`: the project's policy, the min/max rule
a buyer tunes by hand, and a plain negative-binomial order-up-to rule (pure).

- `PolicyStrategy`: `policy_levels` + `order_proposal` of processors/inventory/policy.py, the
  code the live stock flow runs (service level per ABC class, EOQ cycle quantity, discrete
  lead-time demand for slow items, pack multiple, minimum, price breaks).
- `MinMax`: order up to `max_days` of average daily demand when the position is at or below
  `min_days` of it (Odoo's reordering rule / a spreadsheet of days of cover); the quantity is
  rounded to the pack multiple and minimum, and pays whatever price break it reaches.
- `PlainNegativeBinomial`: one cycle service level for every item; the order-up-to level S is
  the level's quantile of a Poisson / negative binomial demand over L + R with the estimated
  mean and variance; order S − position (rounded the same way) whenever the position is below S.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from processors.inventory.lead_time_demand import discrete_quantile, empirical_quantile
from processors.inventory.policy import (
    DemandStats,
    InventoryConfig,
    PolicyLevels,
    order_proposal,
    policy_levels,
    round_order_qty,
)
from processors.inventory.replenishment_sim import DemandInputs
from processors.inventory.simulation import SimItem


@dataclass
class PolicyStrategy:
    """The live policy; `config.review_period_days` should be the simulation's review period."""

    items: Sequence[SimItem]
    config: InventoryConfig
    name: str = "policy"
    _levels: list[PolicyLevels] = field(default_factory=list, repr=False)

    def plan(self, inputs: DemandInputs) -> tuple[np.ndarray, np.ndarray]:
        observed = inputs.history.shape[1]
        self._levels = [
            policy_levels(DemandStats(float(m), float(s), observed, 0), item.terms,
                          item.abc_class, self.config)
            for m, s, item in zip(inputs.mean.tolist(), inputs.std.tolist(), self.items,
                                  strict=True)]
        trigger = np.array([lv.reorder_point if lv.daily_demand > 0 else -1.0
                            for lv in self._levels])
        return trigger, np.array([lv.order_up_to for lv in self._levels], dtype=float)

    def order_qty(self, item: int, position: int) -> tuple[int, float]:
        proposal = order_proposal(self._levels[item], self.items[item].terms, position,
                                  self.config)
        return proposal.qty, proposal.unit_cost


@dataclass
class EmpiricalPolicy(PolicyStrategy):
    """The live policy, but a slow item's reorder point is the empirical quantile of its own
    history's totals over ⌈(L + R) / period⌉ periods (`empirical_quantile`, an overlapping
    block bootstrap) instead of the Poisson / negative binomial one."""

    period_days: float = 1.0
    name: str = "policy_empirical"

    def plan(self, inputs: DemandInputs) -> tuple[np.ndarray, np.ndarray]:
        super().plan(inputs)
        rows = inputs.history.tolist()
        for i, lv in enumerate(self._levels):
            expected = lv.daily_demand * (lv.lead_time_days + lv.review_period_days)
            if not 0 < expected < self.config.discrete_below_units:
                continue
            span = max(1, math.ceil((lv.lead_time_days + lv.review_period_days)
                                    / self.period_days))
            rop = empirical_quantile(rows[i], span, lv.service_level)
            self._levels[i] = replace(lv, reorder_point=rop,
                                      order_up_to=rop + lv.order_up_to - lv.reorder_point)
        trigger = np.array([lv.reorder_point if lv.daily_demand > 0 else -1.0
                            for lv in self._levels])
        return trigger, np.array([lv.order_up_to for lv in self._levels], dtype=float)


def _rounded(item: SimItem, wanted: float) -> tuple[int, float]:
    terms = item.terms
    qty = round_order_qty(wanted, terms.pack_multiple, terms.min_order_qty)
    return qty, terms.unit_cost_for(qty)


@dataclass
class MinMax:
    items: Sequence[SimItem]
    min_days: float
    max_days: float
    name: str = "minmax"
    _target: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)

    def __post_init__(self) -> None:
        if not 0 <= self.min_days < self.max_days:
            raise ValueError("min days must be below max days")

    def plan(self, inputs: DemandInputs) -> tuple[np.ndarray, np.ndarray]:
        self._target = inputs.mean * self.max_days
        return np.where(inputs.mean > 0, inputs.mean * self.min_days, -1.0), self._target

    def order_qty(self, item: int, position: int) -> tuple[int, float]:
        return _rounded(self.items[item], self._target[item] - position)


@dataclass
class PlainNegativeBinomial:
    items: Sequence[SimItem]
    service_level: float
    review_days: float
    name: str = "plain_nb"
    _target: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)

    def plan(self, inputs: DemandInputs) -> tuple[np.ndarray, np.ndarray]:
        target = np.zeros(len(self.items))
        for i, (m, s, item) in enumerate(zip(inputs.mean.tolist(), inputs.std.tolist(),
                                             self.items, strict=True)):
            if m <= 0:
                continue
            span = item.terms.lead_time_days + self.review_days
            variance = span * s * s + (m * item.terms.lead_time_sd_days) ** 2
            target[i] = discrete_quantile(m * span, variance, self.service_level)
        self._target = target
        return np.where(inputs.mean > 0, target - 1, -1.0), target

    def order_qty(self, item: int, position: int) -> tuple[int, float]:
        return _rounded(self.items[item], self._target[item] - position)


def policy_config(base: InventoryConfig, review_days: float, *,
                  levels: dict[str, float] | None = None,
                  **changes: float) -> InventoryConfig:
    """`base` reviewed every `review_days`, with other service levels or settings."""
    config = replace(base, review_period_days=review_days, **changes)
    return replace(config, service_levels=levels) if levels is not None else config


def lead_periods_mean(items: Sequence[SimItem], period_days: float) -> float:
    return float(np.mean([math.ceil(it.terms.lead_time_days / period_days) for it in items]))
