"""`topllantas bench policy`: the replenishment policy against the best-tuned min/max and a plain
negative-binomial rule, as inventory / fill-rate trade-off frontiers.

Data sets (ops/bench/policy_data.py): the reference catalogue (7,200 product × warehouse
series, one simulated year), the car-parts monthly demand and the M5 daily sample of
`shared/data/forecast/` (or any file given with `--data`, in a `forecast backtest` layout), with
seeded synthetic supply terms. Each strategy is swept over its knobs (ops/bench/policy_sweep.py)
with every seed; per point: average inventory value at cost, fill rate, lost units, stockout
item-days, orders placed, and total cost (holding at 25 % a year of the average inventory value,
MXN 400 per order, lost margin = lost units × (price − cost)).

Demand inputs: every strategy gets the trailing average and deviation (all 24 months of
monthly history, 90 days of daily), re-estimated every period / every 7 days from the past only.
The forecast module's inputs (ops/bench/policy_forecast.py: per-series method choice and σ, refit
every 6 months / 13 weeks) are in the ablation on the real data: they moved the policy's frontier
the wrong way (their point forecasts; their σ alone changes little), so the headline frontier
uses the trailing inputs. Forecasting the reference catalogue's 7,200 daily series at every refit
does not fit the bench's time, so it has no forecast variant.

From the efficient frontiers: the policy's (and the plain rule's) inventory ÷ min/max's at
matched fill rates 0.90 / 0.95 / 0.97, and lost units ÷ min/max's at the inventory min/max needs
for each of those fill rates; medians over the seeds. An ablation on seed 0 says which choice
moves the policy's frontier. Writes ops/bench/results/policy.json (per data set
`inventory_ratio_at_matched_fill` and `lost_ratio_at_matched_inventory`, keyed "0.90", "0.95",
"0.97", and every point) and ops/bench/results/policy_frontiers.png.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ops.bench.policy_data import Dataset, load
from ops.bench.policy_forecast import ForecastEstimator
from ops.bench.policy_sweep import (
    Run,
    empirical,
    only,
    sweep,
    trailing,
    without_discrete,
)
from ops.bench.report import RESULTS_DIR, report
from processors.inventory.frontier import Point, compare, efficient
from processors.inventory.policy import InventoryConfig
from processors.inventory.replenishment_sim import DemandEstimator

DATASETS = ("reference", "carparts", "m5")
FILLS = (0.90, 0.95, 0.97)
POLICY_FAMILIES = ("class", "critical ratio")
TARGET_INVENTORY, TARGET_LOST = 0.65, 0.5


def _frontier(runs: Sequence[Run], families: Sequence[str]) -> list[Point]:
    return efficient(r.point() for r in runs if r.family in families)


def ratios(runs: Sequence[Run], families: Sequence[str] = POLICY_FAMILIES
           ) -> dict[str, dict[str, float | None]]:
    """Inventory and lost-unit ratios of `families` to min/max at the matching fill rates."""
    matches = compare(_frontier(runs, families), _frontier(runs, ["minmax"]), FILLS)
    return {"inventory": {f"{m.fill:.2f}": m.inventory_ratio for m in matches},
            "lost": {f"{m.fill:.2f}": m.lost_ratio for m in matches}}


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 4) if present else None


def _forecast_estimator(ds: Dataset) -> DemandEstimator:
    return ForecastEstimator(ds, 6 if ds.monthly else 91, trailing(ds), ds.period_days)


def run_dataset(name: str, seeds: Sequence[int], base: InventoryConfig, data: Path | None,
                calendar: Path | None, quick: bool) -> dict[str, Any]:
    per_seed: list[dict[str, Any]] = []
    points: list[dict[str, Any]] = []
    first: list[Run] = []
    ablation: dict[str, Any] = {}
    items = 0
    for seed in seeds:
        ds = load(name, seed, data, calendar, quick=quick)
        items = len(ds.items)
        runs = sweep(ds, seed, base, trailing(ds))
        per_seed.append({"policy": ratios(runs), "plain_nb": ratios(runs, ["plain_nb"])})
        points.extend(r.row(ds.name, seed) for r in runs)
        if seed == seeds[0]:
            first = runs
            ablation = run_ablation(ds, seed, base, runs)
    out: dict[str, Any] = {"items": items, "seeds": list(seeds)}
    for who in ("policy", "plain_nb"):
        out[who] = {
            kind: {f: _median([s[who][kind][f] for s in per_seed]) for f in per_seed[0][who][kind]}
            for kind in ("inventory", "lost")}
    default = [r.seconds for r in first if r.label == "A/B/C 0.98/0.95/0.9"]
    out.update(inventory_ratio_at_matched_fill=out["policy"]["inventory"],
               lost_ratio_at_matched_inventory=out["policy"]["lost"], ablation=ablation,
               points=points, default_point_seconds=default[0] if default else None,
               frontiers={fam: [_as_dict(p) for p in _frontier(first, fams)]
                          for fam, fams in (("policy", POLICY_FAMILIES), ("minmax", ["minmax"]),
                                            ("plain_nb", ["plain_nb"]))},
               all_points=[(r.family, _as_dict(r.point())) for r in first])
    return out


def _as_dict(p: Point) -> dict[str, Any]:
    return {"inventory": p.inventory, "fill": p.fill, "lost": p.lost, "label": p.label}


def run_ablation(ds: Dataset, seed: int, base: InventoryConfig, full: Sequence[Run]
                 ) -> dict[str, Any]:
    """The policy's frontier with one choice changed at a time, against the same min/max."""
    baselines = [r for r in full if r.family in ("minmax", "plain_nb")]
    est = trailing(ds)
    variants: list[tuple[str, dict[str, Any]]] = [
        ("without discrete lead-time demand (normal)", {"variants": without_discrete}),
        ("ABC class levels only (no critical ratio)", {"variants": only("class")}),
        ("critical ratio only", {"variants": only("critical ratio")}),
        ("empirical bootstrap lead-time demand instead of Poisson / NB",
         {"policy": empirical}),
        ("oracle demand: the simulated periods' own mean and σ (look-ahead; a bound, not a "
         "policy)", {"policy_estimator": oracle(ds)}),
    ]
    if ds.name != "reference":
        variants.insert(0, ("forecast module inputs instead of the trailing average",
                            {"policy_estimator": _forecast_estimator(ds)}))
    out = {"full policy": ratios(full)}
    for label, change in variants:
        runs = sweep(ds, seed, base, est, baselines=False, **change)
        out[label] = ratios([*runs, *baselines])
    return out


def oracle(ds: Dataset) -> DemandEstimator:
    """Each item's true mean and σ over the simulated periods: what perfect estimates would give
    the policy (a diagnostic bound; it reads the future)."""
    future = ds.demand[:, ds.history:ds.history + ds.horizon].astype(float)
    mean = future.mean(axis=1) / ds.period_days
    std = future.std(axis=1, ddof=1) / math.sqrt(ds.period_days)

    def estimate(history: np.ndarray, period: int) -> tuple[np.ndarray, np.ndarray]:
        return mean, std

    return estimate


def _plot(results: dict[str, dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(6 * len(results), 4.8), squeeze=False)
    colors = {"policy": "tab:blue", "minmax": "tab:red", "plain_nb": "tab:green"}
    families = {"class": "policy", "critical ratio": "policy", "minmax": "minmax",
                "plain_nb": "plain_nb"}
    for ax, (name, res) in zip(axes[0], results.items(), strict=True):
        for family, p in res["all_points"]:
            ax.scatter(p["inventory"], p["fill"], s=8, alpha=0.25,
                       color=colors[families[family]])
        for who, label in (("policy", "policy"), ("minmax", "best min/max"),
                           ("plain_nb", "plain NB order-up-to")):
            front = res["frontiers"][who]
            ax.plot([p["inventory"] for p in front], [p["fill"] for p in front], "-o", ms=3,
                    color=colors[who], label=label)
        ax.set_xscale("log")
        ax.set_ylim(max(0.5, min(p["fill"] for _, p in res["all_points"])), 1.0)
        for f in FILLS:
            ax.axhline(f, color="grey", lw=0.5, ls=":")
        ax.set_title(f"{name} (seed {res['seeds'][0]})")
        ax.set_xlabel("average inventory value at cost (MXN, log)")
        ax.set_ylabel("fill rate")
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _rows(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for name, res in results.items():
        for f in (f"{x:.2f}" for x in FILLS):
            inv, lost = res["policy"]["inventory"][f], res["policy"]["lost"][f]
            rows.append({
                "data set": name, "fill": f, "policy inv ratio": inv,
                "plain NB inv ratio": res["plain_nb"]["inventory"][f],
                "policy lost ratio": lost, "plain NB lost ratio": res["plain_nb"]["lost"][f],
                "verdict": "meets" if inv is not None and lost is not None
                and inv <= TARGET_INVENTORY and lost <= TARGET_LOST else "misses"})
    return rows


def main(runs: int = 3, quick: bool = False, data: Path | None = None,
         calendar: Path | None = None, datasets: Sequence[str] | None = None) -> None:
    began = time.perf_counter()
    seeds = list(range(1 if quick else max(1, runs)))
    base = InventoryConfig()
    names = [data.stem] if data is not None else list(datasets or DATASETS)
    results = {name: run_dataset(name, seeds, base, data, calendar, quick) for name in names}
    rows = _rows(results)
    out = report("policy", rows, meta={
        "fills": list(FILLS), "seeds": seeds, "quick": quick,
        "holding_cost_rate": base.holding_cost_rate, "ordering_cost_mxn": base.ordering_cost,
        "targets": {"inventory_ratio_max": TARGET_INVENTORY, "lost_ratio_max": TARGET_LOST},
        "wall_s": round(time.perf_counter() - began, 1)})
    payload = json.loads(out.read_text())
    for name, res in results.items():
        payload[name] = {k: v for k, v in res.items() if k != "all_points"}
    out.write_text(json.dumps(payload, indent=2, default=str))
    _plot(results, RESULTS_DIR / "policy_frontiers.png")
    for name, res in results.items():
        print(name, "ablation (policy ÷ min/max at matched fill / matched inventory):")
        for label, r in res["ablation"].items():
            print(f"  {label:50s} inv {r['inventory']}  lost {r['lost']}")
        print(f"  default policy point: {res['default_point_seconds']} s")

