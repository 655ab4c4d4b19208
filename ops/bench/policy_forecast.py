"""Demand inputs from the forecast module for the policy simulation, refit on a rolling schedule.

Every `refit_every` periods each series is forecast by `forecast_series` (per-series method
choice by backtest, σ from the backtest errors) on the periods before the refit only; between
refits the latest forecast is read from the current period on. The policy's daily mean is the
forecast mean over the item's next ⌈(L + R) / period⌉ periods, its daily σ the root mean
forecast σ² over those periods, scaled to days like `trailing_estimator` (σ / √period_days).
Before an item has a forecast, or for a forecast with no periods left, the trailing estimate is
used. Forecasts depend on the demand only, so one `ForecastEstimator` is shared by every
strategy and seed of a data set (and cached on disk between runs by data set name).
"""

from __future__ import annotations

import hashlib
import math
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ops.bench.policy_data import Dataset
from processors.forecasting import ForecastConfig, forecast_series
from processors.inventory.replenishment_sim import DemandEstimator

CACHE_DIR = Path("/tmp/topllantas-bench-policy")


@dataclass
class ForecastEstimator:
    dataset: Dataset
    refit_every: int
    fallback: DemandEstimator
    review_days: float
    cache_dir: Path | None = CACHE_DIR
    _fits: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._spans = np.array([
            max(1, math.ceil((it.terms.lead_time_days + self.review_days)
                             / self.dataset.period_days)) for it in self.dataset.items])
        self._load()

    def _config(self) -> ForecastConfig:
        horizon = self.refit_every + int(self._spans.max()) + 1
        if self.dataset.monthly:
            return ForecastConfig.monthly(horizon=horizon, use_prophet=False)
        return ForecastConfig.daily(horizon=horizon, use_prophet=False)

    def _cache_path(self) -> Path | None:
        if self.cache_dir is None:
            return None
        digest = hashlib.sha1(self.dataset.demand.tobytes()).hexdigest()[:12]
        return self.cache_dir / f"{self.dataset.name}-{self.refit_every}-{digest}.pkl"

    def _load(self) -> None:
        path = self._cache_path()
        if path is not None and path.exists():
            self._fits = pickle.loads(path.read_bytes())

    def _save(self) -> None:
        path = self._cache_path()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(pickle.dumps(self._fits))

    def _fit(self, origin: int, history: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Forecast mean and σ (items × horizon) from the periods before `origin`."""
        if origin not in self._fits:
            cfg = self._config()
            dates = self.dataset.dates[:origin]
            means, sigmas = [], []
            for key, row in zip(self.dataset.keys, history[:, :origin], strict=True):
                fc = forecast_series(key, pd.Series(row.astype(float), index=dates), cfg)
                means.append(fc.mean)
                sigmas.append(fc.sigma)
            self._fits[origin] = (np.array(means), np.array(sigmas))
            self._save()
        return self._fits[origin]

    def __call__(self, history: np.ndarray, period: int) -> tuple[np.ndarray, np.ndarray]:
        mean, std = self.fallback(history, period)
        first = self.dataset.history
        origin = first + ((period - first) // self.refit_every) * self.refit_every
        if origin < first:
            return mean, std
        fc_mean, fc_sigma = self._fit(origin, history)
        offset = period - origin
        pdays = self.dataset.period_days
        out_mean, out_std = mean.copy(), std.copy()
        for i, span in enumerate(self._spans.tolist()):
            window = slice(offset, offset + span)
            m, s = fc_mean[i, window], fc_sigma[i, window]
            if len(m):
                out_mean[i] = float(m.mean()) / pdays
                out_std[i] = math.sqrt(float((s * s).mean()) / pdays)
        return out_mean, out_std
