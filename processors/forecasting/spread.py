"""Per-period σ and p10/p90 around a point forecast, for safety stock and for charts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Z90 = 1.2815515655446004  # standard normal 0.9 quantile
MIN_RESIDUALS = 20  # fewer than this: normal quantiles instead of empirical ones


@dataclass(frozen=True)
class Spread:
    sigma: np.ndarray
    p10: np.ndarray
    p90: np.ndarray


def from_residuals(mean: np.ndarray, residuals: np.ndarray) -> Spread:
    """Spread from backtest errors (actual - forecast) of the chosen forecast.

    σ per period is the backtest RMSE, scaled so busy periods (Saturdays, December) get more
    spread than quiet ones, as count demand does; the average σ² stays the RMSE². Quantiles come
    from the empirical distribution of the standardised errors once there are enough of them
    (demand errors are skewed: many small negatives, a few large positives).
    """
    residuals = residuals[np.isfinite(residuals)]
    if len(residuals) == 0:
        return Spread(np.zeros_like(mean), mean.copy(), mean.copy())
    rmse = float(np.sqrt(np.mean(residuals**2)))
    sigma = rmse * _level_profile(mean)
    if len(residuals) >= MIN_RESIDUALS and rmse > 0:
        z_lo, z_hi = np.quantile(residuals / rmse, [0.1, 0.9])
    else:
        z_lo, z_hi = -Z90, Z90
    return Spread(sigma, np.clip(mean + z_lo * sigma, 0, None),
                  np.clip(mean + z_hi * sigma, 0, None))


def from_history(mean: np.ndarray, history: np.ndarray) -> Spread:
    """Spread with no backtest (short history): the history's own variability, at least the
    Poisson σ = sqrt(mean), with normal quantiles."""
    level = float(np.mean(mean)) if len(mean) else 0.0
    spread = float(np.std(history, ddof=1)) if len(history) > 1 else 0.0
    sigma = np.full_like(mean, max(spread, np.sqrt(level)))
    return Spread(sigma, np.clip(mean - Z90 * sigma, 0, None), mean + Z90 * sigma)


def _level_profile(mean: np.ndarray) -> np.ndarray:
    """sqrt(0.5 + 0.5 mean_t / average): half Poisson-like, never zero, mean square one."""
    average = float(np.mean(mean))
    if average <= 0:
        return np.ones_like(mean)
    return np.sqrt(0.5 + 0.5 * np.clip(mean, 0, None) / average)
