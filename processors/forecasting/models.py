"""Candidate models: statsforecast methods (in-process) and Prophet (heavy; run in a pool).

Every candidate maps a clean history to a non-negative point forecast of `h` periods.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from statsforecast.models import (
    ADIDA,
    IMAPA,
    TSB,
    AutoETS,
    CrostonOptimized,
    CrostonSBA,
    Naive,
    SeasonalExponentialSmoothingOptimized,
    SeasonalNaive,
    SimpleExponentialSmoothingOptimized,
    WindowAverage,
)

from processors.forecasting.classify import SeriesClass
from processors.forecasting.config import DAILY, ForecastConfig
from processors.forecasting.prophet_model import prophet_forecast

SEASONAL_NAIVE = "SeasonalNaive"
PROPHET = "Prophet"
AUTO_ETS = "AutoETS"
# Naive and seasonal naive copy single past periods: for intermittent demand that is mostly a
# zero, not a demand rate, so there they are only the benchmark, never the forecast.
REGULAR = frozenset({SeriesClass.SMOOTH, SeriesClass.ERRATIC})


@dataclass(frozen=True)
class Candidate:
    """A model the chooser may pick: how to build it and which histories it suits."""

    name: str
    build: Callable[[ForecastConfig], Any]
    min_length: Callable[[ForecastConfig], int]
    classes: frozenset[SeriesClass] | None = None  # None: every class

    def suits(self, series_class: SeriesClass, length: int, cfg: ForecastConfig) -> bool:
        return (self.classes is None or series_class in self.classes) and \
            length >= self.min_length(cfg)


def _window(cfg: ForecastConfig, fraction: int) -> int:
    """Moving-average windows: a year, half and a quarter of months; eight, four and two weeks
    of days. The short ones follow a level that is drifting (new or obsolescent parts)."""
    base = cfg.season_length if cfg.season_length >= 12 else 8 * cfg.season_length
    return max(1, base // fraction)


def _window_average(fraction: int) -> Candidate:
    name = "WindowAverage" if fraction == 1 else f"WindowAverage/{fraction}"
    return Candidate(name, lambda c: WindowAverage(window_size=_window(c, fraction), alias=name),
                     lambda c: _window(c, fraction))


STATS_CANDIDATES: tuple[Candidate, ...] = (
    Candidate("IMAPA", lambda c: IMAPA(), lambda c: 2),
    Candidate("ADIDA", lambda c: ADIDA(), lambda c: 2),
    Candidate("TSB", lambda c: TSB(alpha_d=0.1, alpha_p=0.1), lambda c: 2),
    Candidate("TSB-fast", lambda c: TSB(alpha_d=0.2, alpha_p=0.2, alias="TSB-fast"),
              lambda c: 2),
    Candidate("CrostonSBA", lambda c: CrostonSBA(), lambda c: 2),
    Candidate("CrostonOptimized", lambda c: CrostonOptimized(), lambda c: 2),
    Candidate("SES", lambda c: SimpleExponentialSmoothingOptimized(), lambda c: 2),
    _window_average(1),
    _window_average(2),
    _window_average(4),
    Candidate("Naive", lambda c: Naive(), lambda c: 1, REGULAR),
    Candidate(SEASONAL_NAIVE, lambda c: SeasonalNaive(season_length=c.season_length),
              lambda c: c.season_length, REGULAR),
    Candidate("SeasonalES",
              lambda c: SeasonalExponentialSmoothingOptimized(season_length=c.season_length),
              lambda c: 2 * c.season_length),
    Candidate(AUTO_ETS,
              lambda c: AutoETS(season_length=c.season_length,
                                model="ZNZ" if c.freq == DAILY else "ZZZ"),
              lambda c: 2 * c.season_length + 2, REGULAR),
)
STATS_BY_NAME = {c.name: c for c in STATS_CANDIDATES}
METHOD_NAMES: tuple[str, ...] = (*STATS_BY_NAME, PROPHET)


def candidates_for(series_class: SeriesClass, length: int, cfg: ForecastConfig) -> list[str]:
    """Names of the candidates the chooser may pick for a history of this class and length."""
    names = [c.name for c in STATS_CANDIDATES if c.suits(series_class, length, cfg)]
    if cfg.use_prophet and series_class in cfg.prophet_classes and \
            length >= cfg.prophet_min_history:
        names.append(PROPHET)
    return names


def min_length(name: str, cfg: ForecastConfig) -> int:
    """Shortest history candidate `name` can be fitted on."""
    return cfg.min_train if name == PROPHET else STATS_BY_NAME[name].min_length(cfg)


def predict(name: str, y: np.ndarray, start: pd.Timestamp, h: int,
            cfg: ForecastConfig) -> np.ndarray:
    """Fit candidate `name` on `y` (first period at `start`) and forecast `h` periods (>= 0)."""
    if name == PROPHET:
        mean = prophet_forecast(y, start, h, cfg)
    else:
        model = STATS_BY_NAME[name].build(cfg)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            mean = np.asarray(model.forecast(y=y.astype(float), h=h)["mean"], dtype=float)
    return np.clip(np.nan_to_num(mean, nan=float(np.mean(y)) if len(y) else 0.0), 0.0, None)
