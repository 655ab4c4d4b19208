"""Data sets of `topllantas bench policy`: demand per item and period, and supply terms.

- `reference`: every product × warehouse of the reference catalogue (ops.erp.generate seed 7:
  2,400 products × 3 warehouses), 90 days of history and one simulated year, with the
  catalogue's own suppliers (lead times, deviations, minimums, pack multiples, price breaks).
- any file in a `forecast backtest` layout (car parts, M5, ds/y), read by
  `processors.forecasting.datasets.panel_from_frame`; series shorter than the longest are left
  out, and so are items with fewer than two periods of demand in the history (a buyer stocks
  what has sold; the filter reads the history only). Their supply terms are synthesised by
  this seeded rule (`synthesise_terms`):
  - unit cost: log-normal, median MXN 350 (monthly data) or MXN 60 (daily data), σ 1.0 of
    log cost; selling price: cost × U(1.25, 1.60);
  - lead time: monthly data 1, 2 or 3 months (probabilities 0.4 / 0.4 / 0.2) with a standard
    deviation of 0.35 month, so each order draws its own lead time (rounded to whole months,
    clipped to 1–3); daily data 7, 14 or 21 days with a deviation of 3 days;
  - minimum order: 10 units below MXN 100 of unit cost, 5 below 300, 2 below 1,000, else 1;
    pack multiple 1; a 5 % price break at three times the minimum when the minimum is above 1;
  - ABC class by the history's demand value (cumulative 80 % A, next 15 % B, rest C).
  Monthly data are reviewed once a month (periodic review of one month).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from processors.forecasting.config import MONTHLY
from processors.forecasting.datasets import panel_from_frame
from processors.inventory.policy import DAYS_PER_MONTH, PriceBreak, SupplyTerms
from processors.inventory.simulation import SimItem

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "forecast"
CARPARTS = SHARED / "carparts_dev.csv"
M5_SALES = SHARED / "m5_spot_sales_train_validation_10series.csv"
M5_CALENDAR = SHARED / "m5_spot_calendar.csv"


@dataclass(frozen=True)
class Dataset:
    name: str
    demand: np.ndarray  # items × periods, oldest first
    items: list[SimItem]
    keys: list[str]
    dates: pd.DatetimeIndex  # first day of each period
    period_days: float
    history: int
    horizon: int
    max_lead_periods: int

    @property
    def monthly(self) -> bool:
        return self.period_days > 1


def reference(seed: int = 7, n_products: int = 2400) -> Dataset:
    from ops.bench.stock import HISTORY_DAYS, HORIZON_DAYS, load_catalogue

    cat = load_catalogue(n_products=n_products, seed=seed)
    days = cat.demand.shape[1]
    dates = pd.date_range("2025-01-01", periods=days, freq="D")
    return Dataset("reference", cat.demand, cat.items, [f"{p}:{w}" for p, w in cat.keys],
                   dates, 1.0, HISTORY_DAYS, HORIZON_DAYS, 60)


def from_file(path: Path, seed: int, calendar: Path | None = None,
              name: str | None = None) -> Dataset:
    """A `forecast backtest` layout file with synthesised supply terms (module docstring)."""
    frame = pd.read_csv(path)
    panel = panel_from_frame(frame, name or path.stem,
                             pd.read_csv(calendar) if calendar is not None else None)
    longest = max(len(s) for s in panel.series.values())
    monthly = panel.freq == MONTHLY
    history = min(24, longest // 2) if monthly else min(365, longest // 2)
    keys = [k for k, s in panel.series.items()
            if len(s) == longest and np.count_nonzero(s.to_numpy()[:history] > 0) >= 2]
    demand = np.array([np.clip(panel.series[k].to_numpy(), 0, None) for k in keys])
    demand = np.round(demand).astype(np.int64)
    dates = pd.DatetimeIndex(panel.series[keys[0]].index)
    period_days = DAYS_PER_MONTH if monthly else 1.0
    items = synthesise_terms(demand[:, :history], monthly, seed)
    return Dataset(panel.name, demand, items, keys, dates, period_days, history,
                   longest - history, 3 if monthly else 60)


def synthesise_terms(history: np.ndarray, monthly: bool, seed: int) -> list[SimItem]:
    rng = np.random.default_rng(seed)
    n = len(history)
    cost = np.round(np.exp(rng.normal(math.log(350 if monthly else 60), 1.0, n)), 2)
    price = np.round(cost * rng.uniform(1.25, 1.60, n), 2)
    if monthly:
        lead = rng.choice([1, 2, 3], size=n, p=[0.4, 0.4, 0.2]) * DAYS_PER_MONTH
        lead_sd = np.full(n, 0.35 * DAYS_PER_MONTH)
    else:
        lead = rng.choice([7.0, 14.0, 21.0], size=n)
        lead_sd = np.full(n, 3.0)
    classes = abc_classes(history.mean(axis=1) * cost)
    items = []
    for i in range(n):
        minimum = 10 if cost[i] < 100 else 5 if cost[i] < 300 else 2 if cost[i] < 1000 else 1
        breaks = (PriceBreak(3 * minimum, round(cost[i] * 0.95, 2)),) if minimum > 1 else ()
        terms = SupplyTerms(supplier_id=1 + i % 20, unit_cost=float(cost[i]),
                            lead_time_days=float(lead[i]), lead_time_sd_days=float(lead_sd[i]),
                            min_order_qty=minimum, price_breaks=breaks)
        items.append(SimItem(terms, classes[i], float(price[i])))
    return items


def abc_classes(value: np.ndarray) -> list[str]:
    """A: the items that make the first 80 % of the value, B the next 15 %, C the rest."""
    order = np.argsort(-value)
    total = float(value.sum()) or 1.0
    share = np.cumsum(value[order]) / total
    out = ["C"] * len(value)
    for rank, i in enumerate(order.tolist()):
        before = share[rank - 1] if rank else 0.0
        out[i] = "A" if before < 0.80 else "B" if before < 0.95 else "C"
    return out


def load(name: str, seed: int, data: Path | None = None, calendar: Path | None = None,
         quick: bool = False) -> Dataset:
    """A data set by name; the reference catalogue is the same for every seed (its lead-time
    draws differ), a quick run takes 400 of its products."""
    if name == "reference":
        return reference(n_products=400 if quick else 2400)
    if name == "carparts":
        return from_file(CARPARTS, seed, name="carparts")
    if name == "m5":
        return from_file(M5_SALES, seed, M5_CALENDAR, name="m5")
    if data is None:
        raise ValueError(f"unknown data set {name!r}; pass --data")
    return from_file(data, seed, calendar)
