"""Rolling-origin backtest on a training history and the choice of model it supports."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from processors.forecasting.config import ForecastConfig
from processors.forecasting.metrics import mae, naive_scales
from processors.forecasting.models import SEASONAL_NAIVE, predict


@dataclass(frozen=True)
class Window:
    """Train on periods [0, origin), score on [origin, origin + horizon)."""

    origin: int
    horizon: int


@dataclass(frozen=True)
class Choice:
    """The models picked for a series and what the backtest says about them.

    `members` are combined by their per-period median. `residuals` are actual minus forecast of
    that combination over every backtest window and step: they size the prediction spread.
    """

    members: tuple[str, ...]
    mase: float
    seasonal_naive_mase: float | None
    candidate_mase: dict[str, float]
    residuals: np.ndarray

    @property
    def model(self) -> str:
        if len(self.members) == 1:
            return self.members[0]
        return "median(" + ",".join(self.members) + ")"


def plan_windows(length: int, cfg: ForecastConfig) -> list[Window]:
    """Origins `cfg.step` apart ending at the last period; none when history is too short.

    The backtest horizon is `cfg.horizon`, shortened so at least `cfg.min_train` periods train.
    """
    horizon = min(cfg.horizon, length - cfg.min_train)
    if horizon < 1:
        return []
    origins = (length - horizon - k * cfg.step for k in range(cfg.n_windows))
    return [Window(o, horizon) for o in origins if o >= cfg.min_train]


def backtest(y: np.ndarray, start: pd.Timestamp, names: Sequence[str],
             windows: Sequence[Window], cfg: ForecastConfig) -> dict[str, list[np.ndarray]]:
    """Forecasts of every candidate at every window origin."""
    return {name: [predict(name, y[: w.origin], start, w.horizon, cfg) for w in windows]
            for name in names}


def choose(y: np.ndarray, forecasts: dict[str, list[np.ndarray]], windows: Sequence[Window],
           cfg: ForecastConfig, selectable: Sequence[str],
           combine_within: float = math.inf) -> Choice:
    """Rank the `selectable` candidates by backtest MAE; combine the best `cfg.top_k` (those
    within `combine_within` times the best one's error) by their median. Other backtested
    models (the seasonal-naive benchmark) are only recorded.

    Ties keep the candidates' declared order (the sturdier intermittent methods first).
    """
    actuals = [y[w.origin: w.origin + w.horizon] for w in windows]
    scales = [naive_scales(y[: w.origin], cfg.season_length)[0] for w in windows]
    errors = {name: float(np.mean([mae(a, f) for a, f in zip(actuals, fc, strict=True)]))
              for name, fc in forecasts.items()}
    mases = {name: _mase(actuals, fc, scales) for name, fc in forecasts.items()}
    ranked = sorted(selectable, key=lambda name: errors[name])
    limit = errors[ranked[0]] * combine_within
    members = tuple(n for n in ranked[: max(1, cfg.top_k)] if errors[n] <= limit or n == ranked[0])
    combined = [np.median(np.stack([forecasts[m][i] for m in members]), axis=0)
                for i in range(len(windows))]
    residuals = np.concatenate([a - f for a, f in zip(actuals, combined, strict=True)])
    return Choice(
        members=members,
        mase=_mase(actuals, combined, scales),
        seasonal_naive_mase=mases.get(SEASONAL_NAIVE),
        candidate_mase=mases,
        residuals=residuals,
    )


def _mase(actuals: Sequence[np.ndarray], forecasts: Sequence[np.ndarray],
          scales: Sequence[float]) -> float:
    values = [mae(a, f) / s for a, f, s in zip(actuals, forecasts, scales, strict=True) if s > 0]
    return float(np.mean(values)) if values else float("nan")
