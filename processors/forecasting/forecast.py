"""Forecast one series end to end: clean, classify, backtest, choose, forecast, spread."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from processors.forecasting.backtest import backtest, choose, plan_windows
from processors.forecasting.classify import Classification, SeriesClass, classify
from processors.forecasting.config import ForecastConfig
from processors.forecasting.models import (
    REGULAR,
    SEASONAL_NAIVE,
    candidates_for,
    min_length,
    predict,
)
from processors.forecasting.prepare import active_history, demand_series, period_start
from processors.forecasting.result import SeriesForecast
from processors.forecasting.spread import Spread, from_history, from_residuals

ZERO_MODEL = "zero"
MEAN_MODEL = "mean"


def forecast_series(key: str, history: pd.Series, cfg: ForecastConfig,
                    as_of: pd.Timestamp | str | None = None) -> SeriesForecast:
    """Forecast `cfg.horizon` periods after `as_of` (default: the last period of `history`).

    `history` holds quantities indexed by date: per-period demand or raw movements; both are
    netted per period and clipped at zero. Runs Prophet when the series qualifies, so call it
    from a worker process (see `processors.forecasting.pool`), not from an event loop.
    """
    demand = demand_series(history, cfg.freq, end=as_of)
    last = _last_period(demand, as_of, cfg)
    dates = pd.date_range(last + cfg.offset, periods=cfg.horizon, freq=cfg.freq)
    y, start = active_history(demand, cfg.trim_leading_zeros, last)
    info = classify(y, cfg.min_history)
    windows = plan_windows(len(y), cfg)
    if info.series_class is SeriesClass.NO_DEMAND:
        zeros = np.zeros(cfg.horizon)
        return _result(key, cfg, dates, zeros, Spread(zeros, zeros, zeros), ZERO_MODEL, info)
    if info.series_class is SeriesClass.SHORT or not windows:
        mean = np.full(cfg.horizon, float(np.mean(y)))
        return _result(key, cfg, dates, mean, from_history(mean, y), MEAN_MODEL, info)
    names = candidates_for(info.series_class, len(y), cfg)
    scored = [*names, SEASONAL_NAIVE] if SEASONAL_NAIVE not in names and \
        len(y) >= min_length(SEASONAL_NAIVE, cfg) else names
    # Backtest errors single out a winner on regular demand; on intermittent demand their
    # differences are mostly noise, so the best few are always combined there.
    within = cfg.combine_within if info.series_class in REGULAR else math.inf
    choice = choose(y, backtest(y, start, scored, windows, cfg), windows, cfg, names, within)
    mean = np.median(np.stack([predict(m, y, start, cfg.horizon, cfg) for m in choice.members]),
                     axis=0)
    return _result(key, cfg, dates, mean, from_residuals(mean, choice.residuals), choice.model,
                   info, choice.mase, choice.seasonal_naive_mase, choice.candidate_mase)


def _last_period(demand: pd.Series, as_of: pd.Timestamp | str | None,
                 cfg: ForecastConfig) -> pd.Timestamp:
    if len(demand):
        return pd.Timestamp(demand.index[-1])
    return period_start(as_of if as_of is not None else pd.Timestamp.today(), cfg.freq)


def _result(key: str, cfg: ForecastConfig, dates: pd.DatetimeIndex, mean: np.ndarray,
            spread: Spread, model: str, info: Classification, mase: float | None = None,
            naive_mase: float | None = None,
            candidate_mase: dict[str, float] | None = None) -> SeriesForecast:
    return SeriesForecast(
        key=key,
        freq=cfg.freq,
        dates=tuple(d.date() for d in dates),
        mean=_floats(mean),
        p10=_floats(spread.p10),
        p90=_floats(spread.p90),
        sigma=_floats(spread.sigma),
        model=model,
        series_class=info.series_class,
        backtest_mase=mase,
        seasonal_naive_mase=naive_mase,
        history_length=info.length,
        adi=info.adi,
        cv2=info.cv2,
        candidate_mase=dict(candidate_mase or {}),
    )


def _floats(values: np.ndarray) -> tuple[float, ...]:
    return tuple(float(v) for v in values)
