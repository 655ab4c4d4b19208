"""`topllantas bench forecast`: forecast accuracy on public data and full-catalogue retrain time.

Accuracy (rolling origin; every choice is made on the training part only, with an inner
rolling-origin backtest; the held-out periods are never seen):
- car parts (`carparts_dev.csv`, monthly, complete series only): last 12 months held out;
- M5 sample (daily, 10 item-store series): the last three 28-day blocks held out in turn;
- US retail sales (monthly, one high-volume series): the last three 12-month blocks in turn;
- synthetic tire SKUs (daily): the last 56 days held out.
Each table row is one method applied to every series ("choice" is the per-series choice).
MAE_rel is the method's total MAE over seasonal naive's (lower is better); MASE and RMSSE are
per-series means; bias is total forecast over total demand, minus one.

Throughput: full retrain (classify, backtest every candidate, forecast) of a synthetic daily
tire catalogue, 2 years per SKU, in a process pool with one worker per core. The pool's
start-up is timed separately (a worker keeps its pool); the 2,000-SKU target counts both.
Peak memory is the sampled RSS of this process plus its children (pool workers and their
CmdStan processes) during the retrain. The cost per additional SKU is the slope between two
catalogue sizes.

Accuracy is deterministic and measured once; `runs` repeats the throughput measurement and
reports medians.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psutil
from rich.console import Console

from ops.bench.report import median, report
from ops.erp.generate import WEEKDAY_FACTOR, yearly_factor
from processors.forecasting import (
    AccuracyReport,
    ForecastConfig,
    Panel,
    evaluate_panel,
    forecast_catalogue,
    make_pool,
    panel_from_frame,
)
from processors.forecasting.evaluate import CHOICE
from processors.forecasting.models import METHOD_NAMES, PROPHET

DATA_DIR = Path(os.environ.get(
    "TOPLLANTAS_FORECAST_DATA",
    Path(__file__).resolve().parents[2].parent / "shared" / "data" / "forecast"))
WORKERS = os.cpu_count() or 1
TARGET_SECONDS = 300.0  # full retrain of 2,000 SKUs


@dataclass(frozen=True)
class Sizes:
    carparts: int | None  # series (None: all complete ones)
    m5_origins: int
    retail_origins: int
    synthetic_accuracy: int
    throughput: tuple[int, int]


FULL = Sizes(carparts=None, m5_origins=3, retail_origins=3, synthetic_accuracy=300,
             throughput=(1000, 2000))
QUICK = Sizes(carparts=60, m5_origins=1, retail_origins=1, synthetic_accuracy=20,
              throughput=(20, 40))


def main(runs: int, quick: bool) -> None:
    sizes = QUICK if quick else FULL
    rows: list[dict[str, Any]] = []
    meta: dict[str, Any] = {"quick": quick, "runs": runs, "workers": WORKERS,
                            "load_average_at_start": os.getloadavg()}
    began = time.perf_counter()
    with make_pool(WORKERS) as pool:
        list(pool.map(abs, range(WORKERS * 2)))  # every worker started and warmed up
        startup = time.perf_counter() - began
        timings = [_throughput(pool, sizes.throughput) for _ in range(max(1, runs))]
        meta["throughput"] = {"startup_s": startup, "runs": timings}
        for label, panel, cfg, origins in _accuracy_cases(sizes):
            began = time.perf_counter()
            result = evaluate_panel(panel, cfg, METHOD_NAMES, pool, origins=origins)
            meta[label] = {"seconds": round(time.perf_counter() - began, 1),
                           "series": result.series, "skipped": result.skipped,
                           "origins": origins, "horizon": cfg.horizon,
                           "chosen_models": result.chosen_models, "classes": result.classes}
            rows.extend(_accuracy_rows(label, result))
    rows.extend(_throughput_rows(startup, timings, sizes.throughput))
    rows.extend(_target_rows(rows, sizes, quick))
    meta["load_average_at_end"] = os.getloadavg()
    report("forecast", rows, meta=meta, console=Console(width=max(Console().width, 150)))


def synthetic_tire_catalogue(n: int, days: int = 730, seed: int = 11,
                             end: date = date(2026, 11, 24)) -> dict[str, pd.Series]:
    """Daily unit demand for `n` tire SKUs, each series from the SKU's launch to `end`.

    15 % of SKUs are the head (common sizes, 4-40 tires a day, log-uniform); the long tail's
    popularity is log-normal around 0.1 tire a day (a few sales a month down to a few a year).
    Demand is Poisson orders × set size (1, 2 or 4 tires) with
    the reference ERP's weekday (Saturday peak) and yearly (rainy season, December) factors.
    7 % are new products (launched 10-300 days ago, ramping up over 60 days), 6 % fade out
    over the last year, 7 % also get fleet orders (8-40 tires) about every 45 days.
    """
    rng = np.random.default_rng(seed)
    dates = pd.date_range(end=pd.Timestamp(end), periods=days, freq="D")
    season = WEEKDAY_FACTOR[dates.weekday] * yearly_factor(dates.dayofyear.to_numpy())
    t = np.arange(days)
    head = rng.random(n) < 0.15
    rates = np.where(head, np.exp(rng.uniform(np.log(4), np.log(40), n)),
                     np.exp(rng.normal(np.log(0.1), 1.2, n)))
    kinds = rng.choice(4, size=n, p=[0.80, 0.07, 0.06, 0.07])
    out: dict[str, pd.Series] = {}
    for i in range(n):
        trend = np.linspace(*rng.uniform(0.8, 1.2, 2), days)
        launch = 0
        if kinds[i] == 1:
            launch = days - int(rng.integers(10, 301))
            trend = trend * np.clip((t - launch + 1) / 60, 0, 1)
        elif kinds[i] == 2:
            trend = trend * np.clip(1 - (t - (days - 365)) / 365, 0.05, 1)
        orders = rng.poisson(rates[i] / 2.6 * season * trend)
        units = orders * rng.choice([1, 2, 4], size=days, p=[0.2, 0.3, 0.5])
        if kinds[i] == 3:
            units = units + (rng.random(days) < 1 / 45) * rng.integers(8, 41, days)
        out[f"SKU-{i:05d}"] = pd.Series(units[launch:].astype(float), index=dates[launch:])
    return out


def _accuracy_cases(sizes: Sizes) -> list[tuple[str, Panel, ForecastConfig, int]]:
    carparts = panel_from_frame(pd.read_csv(DATA_DIR / "carparts_dev.csv"), "carparts")
    if sizes.carparts is not None:
        complete = [k for k, s in carparts.series.items() if len(s) >= 24 + 12]
        carparts = Panel(carparts.name, carparts.freq,
                         {k: carparts.series[k] for k in complete[: sizes.carparts]})
    m5 = panel_from_frame(pd.read_csv(DATA_DIR / "m5_spot_sales_train_validation_10series.csv"),
                          "m5", calendar=pd.read_csv(DATA_DIR / "m5_spot_calendar.csv"))
    retail = panel_from_frame(pd.read_csv(DATA_DIR / "prophet_example_retail_sales.csv"),
                              "retail")
    synthetic = Panel("synthetic", "D",
                      synthetic_tire_catalogue(sizes.synthetic_accuracy, seed=5))
    return [
        ("carparts", carparts, ForecastConfig.monthly(12), 1),
        ("m5", m5, ForecastConfig.daily(28, holidays=m5.holidays, trim_leading_zeros=True),
         sizes.m5_origins),
        ("retail", retail, ForecastConfig.monthly(12), sizes.retail_origins),
        ("synthetic", synthetic, ForecastConfig.daily(56), 1),
    ]


def _accuracy_rows(label: str, result: AccuracyReport) -> list[dict[str, Any]]:
    return [{"dataset": f"{label} h={result.horizon}", "method": m.method, "n": m.scored,
             "MASE": m.mase, "RMSSE": m.rmsse, "MAE_rel": m.mae_rel, "bias": m.bias,
             "cov80": "" if m.coverage is None else m.coverage, "cpu_s": m.seconds}
            for m in result.methods]


def _throughput(pool: Executor, counts: tuple[int, int]) -> dict[str, Any]:
    """Retrain each catalogue size on the running pool; peak memory includes the workers."""
    cfg = ForecastConfig.daily(56)
    results: dict[str, Any] = {}
    for n in counts:
        catalogue = synthetic_tire_catalogue(n)
        with _PeakMemory() as memory:
            began = time.perf_counter()
            forecasts = forecast_catalogue(catalogue, cfg, executor=pool)
            seconds = time.perf_counter() - began
        results[str(n)] = {
            "seconds": seconds,
            "peak_mb": memory.peak_mb,
            "prophet_candidates": sum(PROPHET in f.candidate_mase for f in forecasts.values()),
            "prophet_chosen": sum(PROPHET in f.model for f in forecasts.values()),
            "classes": dict(Counter(f.series_class.value
                                    for f in forecasts.values()).most_common()),
        }
    return results


def _throughput_rows(startup: float, timings: list[dict[str, Any]], counts: tuple[int, int]
                     ) -> list[dict[str, Any]]:
    seconds = {n: median([t[str(n)]["seconds"] for t in timings]) for n in counts}
    peak = {n: median([t[str(n)]["peak_mb"] for t in timings]) for n in counts}
    per_sku = (seconds[counts[1]] - seconds[counts[0]]) / (counts[1] - counts[0])
    rows: list[dict[str, Any]] = [{"dataset": "tires daily 730d", "method": "pool start-up",
                                   "n": WORKERS, "wall_s": startup}]
    for n in counts:
        last = timings[-1][str(n)]
        rows.append({"dataset": "tires daily 730d", "method": "full retrain", "n": n,
                     "wall_s": seconds[n], "peak_MB": peak[n],
                     "note": f"Prophet tried {last['prophet_candidates']}, "
                             f"kept {last['prophet_chosen']}"})
    mean_ms = seconds[counts[1]] / counts[1] * 1000
    rows.append({"dataset": "tires daily 730d", "method": "per extra SKU", "wall_s": per_sku,
                 "note": f"slope {counts[0]}->{counts[1]}; mean {mean_ms:.0f} ms/SKU"})
    return rows


def _target_rows(rows: list[dict[str, Any]], sizes: Sizes, quick: bool) -> list[dict[str, Any]]:
    carparts = {r["method"]: r["MAE_rel"] for r in rows
                if r["dataset"].startswith("carparts")}
    choice = carparts.pop(CHOICE)
    best = min(carparts, key=lambda k: carparts[k])
    m5 = next(r["MAE_rel"] for r in rows
              if r["dataset"].startswith("m5") and r["method"] == CHOICE)
    checks: list[tuple[str, bool, str]] = [
        ("carparts MAE_rel <= 0.85", choice <= 0.85, f"{choice:.3f}"),
        ("carparts beats singles", choice < carparts[best],
         f"{choice:.3f} < {best} {carparts[best]:.3f}"),
        ("M5 MAE_rel <= 0.85", m5 <= 0.85, f"{m5:.3f}"),
    ]
    if not quick:
        startup = next(r["wall_s"] for r in rows if r["method"] == "pool start-up")
        retrain = next(r["wall_s"] for r in rows if r["method"] == "full retrain"
                       and r["n"] == sizes.throughput[1])
        total = startup + retrain
        checks.append((f"{sizes.throughput[1]} SKUs <= {TARGET_SECONDS:.0f} s",
                       total <= TARGET_SECONDS, f"{total:.0f} s incl. start-up"))
    return [{"dataset": "TARGET" + (" (quick)" if quick else ""), "method": name,
             "note": ("PASS " if ok else "FAIL ") + detail} for name, ok, detail in checks]


class _PeakMemory:
    """Samples RSS of this process and all its children every 0.1 s while in the block."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> _PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        me = psutil.Process()
        while True:
            self.peak_mb = max(self.peak_mb, _tree_rss(me) / 1e6)
            if self._stop.wait(self.interval):
                return


def _tree_rss(process: psutil.Process) -> int:
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.Error:
            continue
    return total
