"""`topllantas bench stock`: the pure inventory logic's speed and a one-year policy simulation.

1. Throughput on one core (plain Python, no Kafka/Faust): a stream of stock changes (sales in
   sets of 1, 2 or 4 tires, and receipts when stock runs low) over the whole catalogue, each
   decoded position run through `evaluate_policy` + `decide` ("pure decide() events/s"), and
   `decide` alone on precomputed policy results. Positions are built before timing: decoding is
   the stream glue's cost, measured with Faust separately.
2. One simulated year, day by day, on the reference catalogue of `ops.erp.generate` (every
   product × warehouse, its suppliers' lead times, minimums, pack multiples and price breaks,
   and its generated demand): the policy (default service levels, and 85/80/75 % to show the
   service/inventory trade-off) against the naive min/max of 30/60 days of average demand, and
   against the naive k/2k-days rule whose average inventory is closest to the policy's (same
   money on the shelf: who serves more, who earns more?). Each run draws lead times with
   another seed; medians are reported.
3. The stream glue in real workers (ops/bench/stock_stream.py): stock events/s and CPU per event
   through inventory + policy + alert in one `--flows stock` worker against a bare Faust app's,
   and ERP stock change -> WhatsApp request at the double (through CDC, the stock worker and a
   `--flows sinks` worker) at 100 and 500 changes/s.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from ops.bench.report import median, report
from ops.bench.stock_latency import MEASURED as LATENCY_MEASURED
from ops.bench.stock_stream import pipeline_rows
from ops.erp.generate import generate_catalogue
from processors.inventory.alerts import AlertState, decide
from processors.inventory.policy import (
    DemandStats,
    InventoryConfig,
    PolicyResult,
    PriceBreak,
    SupplyTerms,
    evaluate_policy,
    policy_levels,
    trailing_demand_stats,
)
from processors.inventory.simulation import SimConfig, SimItem, SimResult, simulate
from schemas.events import InventoryPosition

HISTORY_DAYS = 90
HORIZON_DAYS = 365
NAIVE_GRID_DAYS = range(30, 125, 5)
LOWER_SERVICE_LEVELS = {"A": 0.85, "B": 0.80, "C": 0.75}


@dataclass(frozen=True)
class BenchCatalogue:
    """Every product × warehouse series of the reference catalogue."""

    items: list[SimItem]
    demand: np.ndarray  # series × days, oldest first
    keys: list[tuple[int, int]]  # (product_id, warehouse_id) per series
    products: int
    warehouses: int


def load_catalogue(n_products: int, seed: int = 7) -> BenchCatalogue:
    cat = generate_catalogue(seed=seed, n_products=n_products)
    product_cols = cat.columns["products"]
    products = [dict(zip(product_cols, row, strict=True)) for row in cat.rows["products"]]
    suppliers = {row[0]: dict(zip(cat.columns["suppliers"], row, strict=True))
                 for row in cat.rows["suppliers"]}
    supplier_of = {p["id"]: p["supplier_id"] for p in products}
    breaks: dict[int, list[PriceBreak]] = {}
    for supplier_id, product_id, min_qty, unit_cost in cat.rows["supplier_price_breaks"]:
        if supplier_of.get(product_id) == supplier_id:
            breaks.setdefault(product_id, []).append(PriceBreak(min_qty, float(unit_cost)))
    n_wh = cat.demand.shape[1]
    items, series, keys = [], [], []
    for index, product in enumerate(products):
        supplier = suppliers[product["supplier_id"]]
        terms = SupplyTerms(
            supplier_id=supplier["id"], unit_cost=float(product["cost"]),
            lead_time_days=float(supplier["lead_time_days"]),
            lead_time_sd_days=float(supplier["lead_time_sd_days"]),
            pack_multiple=supplier["pack_multiple"], min_order_qty=supplier["min_order_qty"],
            price_breaks=tuple(breaks.get(product["id"], ())))
        for w in range(n_wh):
            items.append(SimItem(terms, product["abc_class"], float(product["list_price"])))
            series.append(cat.demand[index, w, -(HISTORY_DAYS + HORIZON_DAYS):])
            keys.append((product["id"], w + 1))
    return BenchCatalogue(items, np.array(series, dtype=np.int64), keys, len(products), n_wh)


# --------------------------------------------------------------------------- throughput


@dataclass(frozen=True)
class EventStream:
    positions: list[InventoryPosition]
    at: list[datetime]
    stats: list[DemandStats]
    terms: list[SupplyTerms]
    classes: list[str]
    series: list[int]  # which series each event belongs to


def event_stream(catalogue: BenchCatalogue, n_events: int, config: InventoryConfig,
                 seed: int = 11) -> EventStream:
    """Sales drawn by popularity; a series at or below its reorder point gets a receipt that
    brings it back to its order-up-to level 30 % of the time it is drawn."""
    rng = np.random.default_rng(seed)
    history = catalogue.demand[:, :HISTORY_DAYS]
    stats = [trailing_demand_stats(row) for row in history.tolist()]
    terms = [item.terms for item in catalogue.items]
    classes = [item.abc_class for item in catalogue.items]
    levels = [policy_levels(s, t, c, config) for s, t, c in zip(stats, terms, classes,
                                                                 strict=True)]
    weight = history.mean(axis=1) + 0.01
    draws = rng.choice(len(stats), size=n_events, p=weight / weight.sum()).tolist()
    sizes = rng.choice([1, 2, 4], size=n_events, p=[0.2, 0.3, 0.5]).tolist()
    receipts = (rng.random(n_events) < 0.3).tolist()
    on_hand = [lv.order_up_to for lv in levels]
    start = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    positions, at = [], []
    for n, i in enumerate(draws):
        if on_hand[i] <= levels[i].reorder_point and receipts[n]:
            on_hand[i] = levels[i].order_up_to
        else:
            on_hand[i] = max(0, on_hand[i] - sizes[n])
        product_id, warehouse_id = catalogue.keys[i]
        positions.append(InventoryPosition(product_id=product_id, warehouse_id=warehouse_id,
                                           on_hand=on_hand[i]))
        at.append(start + timedelta(seconds=n))
    return EventStream(positions, at, stats, terms, classes, draws)


def _time_full(stream: EventStream, config: InventoryConfig) -> tuple[float, int]:
    states: dict[int, AlertState] = {}
    emitted = 0
    began = time.perf_counter()
    for position, now, i in zip(stream.positions, stream.at, stream.series, strict=True):
        result = evaluate_policy(stream.stats[i], stream.terms[i], stream.classes[i], position,
                                 config)
        state, event = decide(states.get(i), position, result, now, config)
        states[i] = state
        if event is not None:
            emitted += 1
    return len(stream.positions) / (time.perf_counter() - began), emitted


def _time_decide(stream: EventStream, results: list[PolicyResult],
                 config: InventoryConfig) -> float:
    states: dict[int, AlertState] = {}
    began = time.perf_counter()
    for position, result, now, i in zip(stream.positions, results, stream.at, stream.series,
                                        strict=True):
        states[i] = decide(states.get(i), position, result, now, config)[0]
    return len(stream.positions) / (time.perf_counter() - began)


def throughput_rows(catalogue: BenchCatalogue, runs: int, n_events: int,
                    config: InventoryConfig) -> list[dict[str, Any]]:
    stream = event_stream(catalogue, n_events, config)
    results = [evaluate_policy(stream.stats[i], stream.terms[i], stream.classes[i], pos, config)
               for pos, i in zip(stream.positions, stream.series, strict=True)]
    full, alone, emitted = [], [], 0
    for _ in range(runs):
        rate, emitted = _time_full(stream, config)
        full.append(rate)
        alone.append(_time_decide(stream, results, config))
    note = f"1 core, {n_events:,} stock events on {len(catalogue.items):,} series, median"
    return [
        {"measure": "pure decide() events/s", "policy": median(full),
         "note": note + " (evaluate_policy + decide)"},
        {"measure": "decide() alone events/s", "policy": median(alone),
         "note": "policy results precomputed"},
        {"measure": "alert events per 1,000 stock events", "policy": emitted * 1000 / n_events,
         "note": "alerts, reminders, resolutions; stress stream of slow movers sold in sets"},
    ]


# --------------------------------------------------------------------------- simulation


def _median_of(results: list[SimResult], metric: Callable[[SimResult], float]) -> float:
    return float(statistics.median(metric(r) for r in results))


def simulation_rows(catalogue: BenchCatalogue, runs: int,
                    config: InventoryConfig) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    policy, lower, naive, matched = [], [], [], []
    matched_days = []
    lower_config = replace(config, service_levels=LOWER_SERVICE_LEVELS)
    for run in range(runs):
        sim = SimConfig(horizon_days=HORIZON_DAYS, history_days=HISTORY_DAYS, seed=run,
                        inventory=config)
        mine = simulate(catalogue.demand, catalogue.items, "policy", sim)
        policy.append(mine)
        lower.append(simulate(catalogue.demand, catalogue.items, "policy",
                              replace(sim, inventory=lower_config)))
        naive.append(simulate(catalogue.demand, catalogue.items, "minmax", sim))
        grid = [simulate(catalogue.demand, catalogue.items, "minmax",
                         SimConfig(horizon_days=HORIZON_DAYS, history_days=HISTORY_DAYS,
                                   seed=run, naive_min_days=k, naive_max_days=2 * k,
                                   inventory=config))
                for k in NAIVE_GRID_DAYS]
        best = min(range(len(grid)), key=lambda j: abs(grid[j].avg_inventory_value
                                                       - mine.avg_inventory_value))
        matched.append(grid[best])
        matched_days.append(NAIVE_GRID_DAYS[best])
    k = int(statistics.median(matched_days))
    columns = {"policy": policy, "policy 85/80/75 %": lower, "min/max 30/60": naive,
               f"min/max {k}/{2 * k} (same inventory)": matched}

    def row(measure: str, metric: Callable[[SimResult], float], note: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {"measure": measure}
        for name, results in columns.items():
            out[name] = _median_of(results, metric)
        out["note"] = note
        return out

    def by_class(results: list[SimResult]) -> str:
        classes = sorted(results[0].fill_rate_by_class)
        return " / ".join(
            f"{statistics.median(r.fill_rate_by_class[c] for r in results):.3f}"
            for c in classes)

    rows = [
        row("stockout SKU-days", lambda r: r.stockout_days,
            f"{len(catalogue.items):,} product×warehouse series, {HORIZON_DAYS} days"),
        row("fill rate", lambda r: r.fill_rate, "units served / units demanded"),
        {"measure": "fill rate A / B / C",
         **{name: by_class(results) for name, results in columns.items()},
         "note": "policy: cycle service levels 98 / 95 / 90 %"},
        row("avg inventory value MXN", lambda r: r.avg_inventory_value, "at list cost"),
        row("orders placed", lambda r: r.orders_placed),
        row("avg purchase cost per unit MXN", lambda r: r.purchase_cost / max(r.units_purchased, 1),
            "price breaks taken"),
        row("holding + ordering MXN", lambda r: r.holding_cost + r.ordering_cost,
            f"{config.holding_cost_rate:.0%} a year, MXN {config.ordering_cost:,.0f} per order"),
        row("lost margin MXN", lambda r: r.lost_margin, "unserved units × (price − cost)"),
        row("net margin MXN", lambda r: r.net_margin,
            "revenue − cost of goods sold − holding − ordering (higher is better)"),
    ]
    meta = {"naive_same_inventory_days": [k, 2 * k], "sim_runs": runs,
            "lead_time_seeds": list(range(runs))}
    return rows, meta


def main(runs: int = 3, quick: bool = False) -> None:
    runs = max(1, runs)
    config = InventoryConfig()
    began = time.perf_counter()
    catalogue = load_catalogue(n_products=400 if quick else 2400)
    loaded = time.perf_counter() - began
    rows = throughput_rows(catalogue, runs, 20_000 if quick else 200_000, config)
    sim_rows, sim_meta = simulation_rows(catalogue, 1 if quick else runs, config)
    rows.extend(sim_rows)
    rows.extend(pipeline_rows(runs, quick))
    columns = ["measure", *(k for k in sim_rows[0] if k not in ("measure", "note")), "note"]
    rows = [{c: row.get(c, "") for c in columns} for row in rows]
    report("stock", rows, meta={
        "catalogue": f"ops.erp.generate seed 7: {catalogue.products} products × "
                     f"{catalogue.warehouses} warehouses",
        "catalogue_load_s": round(loaded, 2), "quick": quick, "runs": runs,
        "config": {"service_levels": dict(config.service_levels),
                   "holding_cost_rate": config.holding_cost_rate,
                   "ordering_cost_mxn": config.ordering_cost,
                   "review_period_days": config.review_period_days},
        **sim_meta,
        "latency_measured": LATENCY_MEASURED,
        "wall_s": round(time.perf_counter() - began, 1),
    })
