"""Model choice and forecast output on synthetic series with known patterns (no Prophet)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from processors.forecasting import ForecastConfig, SeriesClass, forecast_series
from processors.forecasting.forecast import MEAN_MODEL, ZERO_MODEL

CFG = ForecastConfig.daily(56, use_prophet=False)
END = pd.Timestamp("2026-11-24")
SEASONAL = {"SeasonalES", "AutoETS", "SeasonalNaive"}


def _days(n: int) -> pd.DatetimeIndex:
    return pd.date_range(end=END, periods=n, freq="D")


def _weekly(n: int = 730, level: float = 12.0, seed: int = 1) -> pd.Series:
    rng = np.random.default_rng(seed)
    idx = _days(n)
    weekday = np.array([0.95, 0.9, 0.95, 1.0, 1.15, 1.45, 0.6])[idx.weekday]
    return pd.Series(rng.poisson(level * weekday).astype(float), index=idx)


def _members(model: str) -> set[str]:
    return set(model.removeprefix("median(").removesuffix(")").split(","))


def test_smooth_weekly_series_gets_a_seasonal_model_and_weekly_shape() -> None:
    f = forecast_series("A", _weekly(), CFG)
    assert f.series_class is SeriesClass.SMOOTH
    assert _members(f.model) & SEASONAL
    mean = pd.Series(f.mean, index=pd.to_datetime(list(f.dates)))
    by_day = mean.groupby(mean.index.weekday).mean()
    assert by_day[5] > 1.3 * by_day[6]  # Saturday busier than Sunday
    assert f.backtest_mase is not None and f.seasonal_naive_mase is not None
    assert f.backtest_mase < f.seasonal_naive_mase
    assert abs(float(np.mean(f.mean)) - 12.0) < 2.0


def test_output_shape_dates_and_spread_are_consistent() -> None:
    history = _weekly()
    f = forecast_series("A", history, CFG)
    assert f.horizon == CFG.horizon
    assert len(f.p10) == len(f.p90) == len(f.sigma) == len(f.dates) == CFG.horizon
    assert f.dates[0] == (END + pd.Timedelta(days=1)).date()
    assert all((b - a).days == 1 for a, b in zip(f.dates, f.dates[1:], strict=False))
    assert all(lo <= m <= hi for lo, m, hi in zip(f.p10, f.mean, f.p90, strict=True))
    assert all(s > 0 for s in f.sigma)
    # σ comparable to the noise of a Poisson around the weekday level
    assert 2.0 < float(np.mean(f.sigma)) < 7.0
    assert f.lead_time_sigma(7) == pytest.approx(math.sqrt(sum(s * s for s in f.sigma[:7])))
    payload = json.loads(json.dumps(f.to_dict()))
    assert payload["series_class"] == "smooth" and len(payload["mean"]) == CFG.horizon


def test_intermittent_series_gets_an_intermittent_demand_rate() -> None:
    rng = np.random.default_rng(7)
    idx = _days(730)
    y = (rng.random(730) < 0.25) * rng.choice([2.0, 3.0], size=730)
    f = forecast_series("B", pd.Series(y, index=idx), CFG)
    assert f.series_class is SeriesClass.INTERMITTENT
    assert not _members(f.model) & {"Naive", "SeasonalNaive"}
    rate = 0.25 * 2.5  # the chosen methods follow the recent level, so allow a wide band
    assert 0.5 * rate < float(np.mean(f.mean)) < 2.0 * rate
    assert f.p10[0] == 0.0  # a zero day is likely
    assert f.p90[0] >= 2.0


def test_lumpy_series_forecast_is_finite_and_non_negative() -> None:
    rng = np.random.default_rng(8)
    y = (rng.random(730) < 0.08) * rng.choice([1.0, 4.0, 40.0], size=730)
    f = forecast_series("C", pd.Series(y, index=_days(730)), CFG)
    assert f.series_class is SeriesClass.LUMPY
    assert all(np.isfinite(f.mean)) and min(f.mean) >= 0 and min(f.p10) >= 0
    assert max(f.sigma) > float(np.mean(f.mean))  # lumpy: spread well above the level


def test_new_product_with_ten_days_uses_its_mean() -> None:
    history = pd.Series([0, 2, 0, 1, 4, 0, 0, 2, 1, 0], index=_days(10), dtype=float)
    f = forecast_series("NEW", history, CFG)
    assert f.series_class is SeriesClass.SHORT
    assert f.model == MEAN_MODEL
    assert f.mean[0] == pytest.approx(1.0)
    assert f.sigma[0] > 0 and f.p90[0] >= 2
    assert f.backtest_mase is None


def test_no_history_gives_zeros_from_the_as_of_date() -> None:
    f = forecast_series("NONE", pd.Series([], dtype=float), CFG, as_of=END)
    assert f.series_class is SeriesClass.NO_DEMAND and f.model == ZERO_MODEL
    assert f.dates[0] == (END + pd.Timedelta(days=1)).date()
    assert set(f.mean) == set(f.sigma) == set(f.p90) == {0.0}


def test_all_zero_history_gives_zeros() -> None:
    f = forecast_series("DEAD", pd.Series(0.0, index=_days(400)), CFG)
    assert f.series_class is SeriesClass.NO_DEMAND and max(f.mean) == 0.0


def test_returns_never_make_negative_demand() -> None:
    history = _weekly(200)
    history.iloc[::5] = -6.0  # days with more returns than sales
    f = forecast_series("RET", history, CFG)
    assert min(f.mean) >= 0 and min(f.p10) >= 0
    assert f.history_length == 200


def test_silent_recent_days_count_as_zero_demand() -> None:
    history = _weekly(400)
    later = END + pd.Timedelta(days=90)
    f = forecast_series("STOPPED", history, CFG, as_of=later)
    assert f.dates[0] == (later + pd.Timedelta(days=1)).date()
    assert f.history_length == 490
    assert float(np.mean(f.mean)) < 3.0  # 90 silent days pull the level down


def test_monthly_horizon_and_dates() -> None:
    rng = np.random.default_rng(9)
    idx = pd.date_range("2019-01-01", periods=48, freq="MS")
    y = pd.Series(rng.poisson(20, 48).astype(float), index=idx)
    f = forecast_series("M", y, ForecastConfig.monthly(6, use_prophet=False))
    assert f.horizon == 6
    assert [d.month for d in f.dates] == [1, 2, 3, 4, 5, 6]
    assert f.dates[0].year == 2023
