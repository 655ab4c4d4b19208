"""Prophet with Mexican holidays and the seasonalities the history can support.

One fit costs 50-150 ms and starts a CmdStan child process: call it from a worker process
(`processors.forecasting.pool`), never on an event loop.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from processors.forecasting.config import DAILY, ForecastConfig
from processors.forecasting.holidays_mx import holiday_frame

YEARLY_FOURIER_ORDER = 6


def prophet_forecast(y: np.ndarray, start: pd.Timestamp, h: int,
                     cfg: ForecastConfig) -> np.ndarray:
    """Prophet mean forecast: weekly season on daily data, yearly once a year is observed."""
    quiet_prophet_logs()
    from prophet import Prophet

    dates = pd.date_range(start, periods=len(y) + h, freq=cfg.freq)
    span_days = (dates[len(y) - 1] - dates[0]).days
    daily = cfg.freq == DAILY
    model = Prophet(
        weekly_seasonality=daily and len(y) >= 2 * 7,
        yearly_seasonality=YEARLY_FOURIER_ORDER if span_days >= 365 else False,
        daily_seasonality=False,
        holidays=_holidays(dates, cfg) if daily else None,
        uncertainty_samples=0,
    )
    model.fit(pd.DataFrame({"ds": dates[: len(y)], "y": y}))
    future = model.predict(pd.DataFrame({"ds": dates[len(y):]}))
    return future["yhat"].to_numpy(dtype=float)


def _holidays(dates: pd.DatetimeIndex, cfg: ForecastConfig) -> pd.DataFrame | None:
    if cfg.holidays is not None:
        return cfg.holidays
    if not cfg.holiday_country:
        return None
    return holiday_frame(cfg.holiday_country, dates[0].year, dates[-1].year)


def quiet_prophet_logs() -> None:
    """Silence Prophet's per-fit INFO lines and its optional-plotly notice (both libraries set
    their logger levels when first imported or used, so this runs after that)."""
    logging.getLogger("prophet.plot").setLevel(logging.CRITICAL)
    import prophet  # noqa: F401
    from cmdstanpy.utils import get_logger

    logging.getLogger("prophet").setLevel(logging.ERROR)
    get_logger().setLevel(logging.ERROR)
