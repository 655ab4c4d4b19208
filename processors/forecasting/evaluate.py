"""Accuracy report: rolling-origin evaluation of the per-series choice and of every single
method on held-out data (the choice sees only each origin's training part)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from processors.forecasting.config import ForecastConfig
from processors.forecasting.datasets import Panel
from processors.forecasting.forecast import forecast_series
from processors.forecasting.metrics import mae, mse, naive_scales
from processors.forecasting.models import SEASONAL_NAIVE, min_length, predict
from processors.forecasting.pool import DEFAULT_CHUNK, map_in_pool
from processors.forecasting.prepare import active_history

CHOICE = "choice"


@dataclass(frozen=True)
class SeriesScore:
    """Errors of every method on one series at one held-out origin."""

    key: str
    origin: int
    scale_abs: float
    scale_sq: float
    actual_sum: float
    mae: dict[str, float]
    mse: dict[str, float]
    forecast_sum: dict[str, float]
    seconds: dict[str, float]
    choice_model: str
    choice_class: str
    coverage: float


@dataclass(frozen=True)
class MethodAccuracy:
    """One method over a panel. `mae_rel` is total MAE over the seasonal-naive total (lower is
    better, < 1 beats it); `bias` is total forecast over total actual, minus one."""

    method: str
    scored: int
    mase: float
    rmsse: float
    mae_rel: float
    bias: float
    seconds: float
    coverage: float | None


@dataclass(frozen=True)
class AccuracyReport:
    panel: str
    horizon: int
    origins: int
    series: int
    skipped: int
    methods: list[MethodAccuracy]
    chosen_models: dict[str, int]
    classes: dict[str, int]

    def method(self, name: str) -> MethodAccuracy:
        return next(m for m in self.methods if m.method == name)


def evaluate_panel(panel: Panel, cfg: ForecastConfig, methods: Sequence[str], executor: Executor,
                   *, origins: int = 1, chunk_size: int = DEFAULT_CHUNK,
                   on_progress: Callable[[int], None] | None = None) -> AccuracyReport:
    """Hold out the last `origins` blocks of `cfg.horizon` periods in turn (rolling origin).

    Series without `cfg.min_train` periods before the earliest held-out block are skipped.
    """
    methods = list(dict.fromkeys([SEASONAL_NAIVE, *methods]))
    needed = cfg.min_train + origins * cfg.horizon
    items = [(k, s) for k, s in panel.series.items() if len(s) >= needed]
    scores = map_in_pool(
        partial(score_chunk, cfg=cfg, methods=tuple(methods), origins=origins), items,
        executor, chunk_size,
        None if on_progress is None else lambda n: on_progress(n // origins))
    return summarize(panel.name, cfg.horizon, origins, scores, methods,
                     skipped=len(panel.series) - len(items))


def score_chunk(items: Sequence[tuple[str, pd.Series]], cfg: ForecastConfig,
                methods: Sequence[str], origins: int) -> list[SeriesScore]:
    """Worker entry point: score a few series at every origin."""
    return [score_series(key, series, cfg, methods, len(series) - k * cfg.horizon)
            for key, series in items for k in range(origins, 0, -1)]


def score_series(key: str, series: pd.Series, cfg: ForecastConfig, methods: Sequence[str],
                 origin: int) -> SeriesScore:
    """Train on `series[:origin]`, score `cfg.horizon` periods after it."""
    h = cfg.horizon
    train, actual = series.iloc[:origin], series.iloc[origin: origin + h].to_numpy(dtype=float)
    y, start = active_history(train, cfg.trim_leading_zeros, train.index[-1])
    scale_abs, scale_sq = naive_scales(y, cfg.season_length)
    forecasts: dict[str, np.ndarray] = {}
    seconds: dict[str, float] = {}
    for name in methods:
        began = time.perf_counter()
        forecasts[name] = _single(name, y, start, h, cfg)
        seconds[name] = time.perf_counter() - began
    began = time.perf_counter()
    chosen = forecast_series(key, train, cfg)
    seconds[CHOICE] = time.perf_counter() - began
    forecasts[CHOICE] = np.asarray(chosen.mean)
    inside = (actual >= np.asarray(chosen.p10)) & (actual <= np.asarray(chosen.p90))
    return SeriesScore(
        key=key, origin=origin, scale_abs=scale_abs, scale_sq=scale_sq,
        actual_sum=float(actual.sum()),
        mae={n: mae(actual, f) for n, f in forecasts.items()},
        mse={n: mse(actual, f) for n, f in forecasts.items()},
        forecast_sum={n: float(f.sum()) for n, f in forecasts.items()},
        seconds=seconds, choice_model=chosen.model, choice_class=chosen.series_class.value,
        coverage=float(inside.mean()),
    )


def summarize(panel: str, horizon: int, origins: int, scores: Sequence[SeriesScore],
              methods: Sequence[str], skipped: int = 0) -> AccuracyReport:
    names = [*methods, CHOICE]
    base = sum(s.mae[SEASONAL_NAIVE] for s in scores)
    actual = sum(s.actual_sum for s in scores)
    rows = []
    for name in names:
        mases = [s.mae[name] / s.scale_abs for s in scores if s.scale_abs > 0]
        rmsses = [np.sqrt(s.mse[name] / s.scale_sq) for s in scores if s.scale_sq > 0]
        total = sum(s.mae[name] for s in scores)
        rows.append(MethodAccuracy(
            method=name,
            scored=len(scores),
            mase=_mean(mases),
            rmsse=_mean(rmsses),
            mae_rel=total / base if base > 0 else float("nan"),
            bias=sum(s.forecast_sum[name] for s in scores) / actual - 1 if actual > 0
            else float("nan"),
            seconds=sum(s.seconds[name] for s in scores),
            coverage=_mean([s.coverage for s in scores]) if name == CHOICE else None,
        ))
    members = Counter(m for s in scores for m in _members(s.choice_model))
    return AccuracyReport(panel, horizon, origins, len(scores) // max(origins, 1), skipped, rows,
                          dict(members.most_common()),
                          dict(Counter(s.choice_class for s in scores).most_common()))


def _single(name: str, y: np.ndarray, start: pd.Timestamp, h: int,
            cfg: ForecastConfig) -> np.ndarray:
    """One method forced on a series; histories too short for it get their mean, as the
    pipeline does for short series."""
    if len(y) == 0:
        return np.zeros(h)
    if len(y) < min_length(name, cfg):
        return np.full(h, float(np.mean(y)))
    return predict(name, y, start, h, cfg)


def _members(model: str) -> list[str]:
    if model.startswith("median("):
        return model[len("median("):-1].split(",")
    return [model]


def _mean(values: Sequence[float]) -> float:
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")
