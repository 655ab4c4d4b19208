"""Point-forecast errors and the in-sample scales that turn them into MASE and RMSSE."""

from __future__ import annotations

import numpy as np


def mae(actual: np.ndarray, forecast: np.ndarray) -> float:
    return float(np.mean(np.abs(np.asarray(actual) - np.asarray(forecast))))


def mse(actual: np.ndarray, forecast: np.ndarray) -> float:
    return float(np.mean((np.asarray(actual) - np.asarray(forecast)) ** 2))


def naive_scales(train: np.ndarray, season_length: int) -> tuple[float, float]:
    """In-sample MAE and MSE of the seasonal naive one-step forecast (lag `season_length`).

    Falls back to lag 1 when the history is too short for a season or the seasonal scale is
    zero; returns (nan, nan) when even that is zero (a constant history): the scaled errors are
    then undefined, not infinite.
    """
    train = np.asarray(train, dtype=float)
    for lag in (season_length, 1):
        if len(train) > lag:
            diff = train[lag:] - train[:-lag]
            scale_abs = float(np.mean(np.abs(diff)))
            if scale_abs > 0:
                return scale_abs, float(np.mean(diff**2))
    return float("nan"), float("nan")

