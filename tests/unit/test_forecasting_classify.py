"""Syntetos-Boylan classification and demand preparation on series with known patterns."""

from __future__ import annotations

import numpy as np
import pandas as pd

from processors.forecasting import SeriesClass, classify, demand_series


def _weekly_smooth(days: int = 364, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    weekday = np.array([0.95, 0.9, 0.95, 1.0, 1.15, 1.45, 0.6])
    return rng.poisson(12 * weekday[np.arange(days) % 7]).astype(float)


def test_smooth_weekly_series_is_smooth() -> None:
    assert classify(_weekly_smooth(), min_history=35).series_class is SeriesClass.SMOOTH


def test_erratic_series_has_frequent_but_variable_demand() -> None:
    rng = np.random.default_rng(2)
    y = rng.choice([1.0, 2.0, 30.0], size=300, p=[0.6, 0.3, 0.1])
    assert classify(y, min_history=35).series_class is SeriesClass.ERRATIC


def test_intermittent_series_has_rare_steady_sizes() -> None:
    rng = np.random.default_rng(3)
    y = (rng.random(300) < 0.1) * rng.choice([2.0, 3.0], size=300)
    info = classify(y, min_history=35)
    assert info.series_class is SeriesClass.INTERMITTENT
    assert info.adi is not None and info.adi > 1.32
    assert info.cv2 is not None and info.cv2 < 0.49


def test_lumpy_series_has_rare_variable_sizes() -> None:
    rng = np.random.default_rng(4)
    y = (rng.random(300) < 0.1) * rng.choice([1.0, 4.0, 40.0], size=300)
    assert classify(y, min_history=35).series_class is SeriesClass.LUMPY


def test_ten_days_of_history_is_short() -> None:
    info = classify(np.array([0, 2, 0, 1, 4, 0, 0, 2, 1, 0], dtype=float), min_history=35)
    assert info.series_class is SeriesClass.SHORT
    assert info.length == 10 and info.demand_periods == 5


def test_no_history_and_all_zeros_have_no_demand() -> None:
    assert classify(np.array([]), 35).series_class is SeriesClass.NO_DEMAND
    assert classify(np.zeros(400), 35).series_class is SeriesClass.NO_DEMAND


def test_returns_are_netted_per_day_then_clipped_and_gaps_filled() -> None:
    moves = pd.Series([3.0, -5.0, 2.0, -1.0, 4.0],
                      index=pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-02",
                                            "2024-01-04", "2024-01-04"]))
    demand = demand_series(moves, "D", end="2024-01-06")
    assert demand.tolist() == [0.0, 2.0, 0.0, 3.0, 0.0, 0.0]
    assert demand.index[0] == pd.Timestamp("2024-01-01")
    assert demand.index[-1] == pd.Timestamp("2024-01-06")


def test_monthly_demand_series_uses_month_starts() -> None:
    moves = pd.Series([1.0, 2.0, -4.0], index=pd.to_datetime(["2024-01-05", "2024-01-20",
                                                              "2024-03-02"]))
    demand = demand_series(moves, "MS")
    assert demand.tolist() == [3.0, 0.0, 0.0]
    assert list(demand.index.month) == [1, 2, 3]


def test_empty_movements_give_an_empty_series() -> None:
    assert len(demand_series(pd.Series([], dtype=float), "D")) == 0
