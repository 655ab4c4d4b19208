"""Per-period σ and p10/p90 around a point forecast, for safety stock and for charts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

Z90 = 1.2815515655446004  # standard normal 0.9 quantile


@dataclass(frozen=True)
class Spread:
    sigma: np.ndarray
    p10: np.ndarray
    p90: np.ndarray


def from_residuals(mean: np.ndarray, residuals: np.ndarray) -> Spread:
    """Spread from backtest errors (actual - forecast) of the chosen forecast.

    σ per period is the backtest RMSE, scaled so busy periods (Saturdays, December) get more
    spread than quiet ones, as count demand does; the average σ² stays the RMSE².
    """
    residuals = residuals[np.isfinite(residuals)]
    rmse = float(np.sqrt(np.mean(residuals**2))) if len(residuals) else 0.0
    return _spread(mean, rmse * _level_profile(mean))


def from_history(mean: np.ndarray, history: np.ndarray) -> Spread:
    """Spread with no backtest (short history): the history's own standard deviation."""
    spread = float(np.std(history, ddof=1)) if len(history) > 1 else 0.0
    return _spread(mean, np.full_like(mean, spread))


def _spread(mean: np.ndarray, sigma: np.ndarray) -> Spread:
    """Quantiles of a count distribution with this mean and σ (at least Poisson's sqrt(mean)).

    Negative binomial when over-dispersed, Poisson otherwise: demand is non-negative, often
    zero, and skewed, so p10 is 0 whenever zero demand is likely. A zero mean with σ > 0 (the
    backtest saw demand the point forecast does not expect) gets p90 = 1.28σ.
    """
    mean = np.clip(mean, 0.0, None)
    sigma = np.maximum(sigma, np.sqrt(mean))
    var = sigma**2
    p10, p90 = np.zeros_like(mean), Z90 * sigma
    positive = mean > 1e-9
    over = positive & (var > mean * (1 + 1e-9))
    poisson = positive & ~over
    if over.any():
        size = mean[over] ** 2 / (var[over] - mean[over])
        prob = mean[over] / var[over]
        p10[over], p90[over] = stats.nbinom.ppf([[0.1], [0.9]], size, prob)
    if poisson.any():
        p10[poisson], p90[poisson] = stats.poisson.ppf([[0.1], [0.9]], mean[poisson])
    return Spread(sigma, p10, p90)


def _level_profile(mean: np.ndarray) -> np.ndarray:
    """sqrt(0.5 + 0.5 mean_t / average): half Poisson-like, never zero, mean square one."""
    average = float(np.mean(mean))
    if average <= 0:
        return np.ones_like(mean)
    return np.sqrt(0.5 + 0.5 * np.clip(mean, 0, None) / average)
