"""Settings for one forecasting run: frequency, horizon, backtest windows, model options."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

DAILY = "D"
MONTHLY = "MS"


@dataclass(frozen=True)
class ForecastConfig:
    """How to forecast a set of series that share one frequency.

    `n_windows` rolling origins, `step` periods apart, each `horizon` long (shortened for short
    series), score every candidate model on the training part only; the forecast is the
    per-period median of the `top_k` best candidates. On smooth and erratic series, candidates
    whose backtest error exceeds `combine_within` times the best one's are left out (a clear
    winner is used alone).
    """

    freq: str = DAILY
    horizon: int = 56
    season_length: int = 7
    n_windows: int = 2
    step: int = 28
    min_train: int = 28
    min_history: int = 35
    top_k: int = 3
    combine_within: float = 1.25
    trim_leading_zeros: bool = False
    use_prophet: bool = True
    prophet_min_history: int = 365
    prophet_classes: frozenset[str] = frozenset({"smooth"})
    holiday_country: str = "MX"
    holidays: pd.DataFrame | None = field(default=None, compare=False, repr=False)

    @classmethod
    def daily(cls, horizon: int = 56, **overrides: Any) -> ForecastConfig:
        """Daily demand: weekly season, two origins four weeks apart."""
        return replace(cls(horizon=horizon), **overrides)

    @classmethod
    def monthly(cls, horizon: int = 12, **overrides: Any) -> ForecastConfig:
        """Monthly demand: yearly season, six one-month-apart origins."""
        base = cls(freq=MONTHLY, horizon=horizon, season_length=12, n_windows=6, step=1,
                   min_train=12, min_history=15, prophet_min_history=36)
        return replace(base, **overrides)

    @property
    def offset(self) -> pd.DateOffset:
        return pd.tseries.frequencies.to_offset(self.freq)
