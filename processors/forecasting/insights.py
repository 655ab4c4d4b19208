"""Catalogue insights from demand series: fastest-growing, declining, unusual spikes.

Series are per-period demand (same frequency for all), indexed by date.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from scipy import stats


@dataclass(frozen=True)
class Trend:
    """Demand in the last `window` periods against the `window` before, for one series.

    `expected` is the earlier demand scaled by the whole catalogue's change, so a season that
    lifts every product (December, rainy season) is not read as growth. `growth` is
    recent / expected - 1 (inf for a product with no earlier demand); `z` is the evidence,
    (recent - expected) / sqrt(recent + expected).
    """

    key: str
    recent: float
    previous: float
    expected: float
    growth: float
    z: float


@dataclass(frozen=True)
class Anomaly:
    """A period whose demand is implausibly high against the periods before it."""

    key: str
    when: date
    value: float
    expected: float
    p_value: float


def trends(series: Mapping[str, pd.Series], window: int = 28,
           min_volume: float = 10.0) -> list[Trend]:
    """Trend of every series with at least `min_volume` units over the two windows."""
    totals = {key: _two_windows(s, window) for key, s in series.items()}
    recent_all = sum(r for r, _ in totals.values())
    previous_all = sum(p for _, p in totals.values())
    ratio = recent_all / previous_all if previous_all > 0 else 1.0
    out = []
    for key, (recent, previous) in totals.items():
        if recent + previous < min_volume:
            continue
        expected = previous * ratio
        growth = recent / expected - 1 if expected > 0 else math.inf
        out.append(Trend(key, recent, previous, expected, growth,
                         (recent - expected) / math.sqrt(recent + expected)))
    return out


def fastest_growing(series: Mapping[str, pd.Series], window: int = 28, top: int = 10,
                    min_volume: float = 10.0, min_z: float = 2.0) -> list[Trend]:
    """Series growing faster than the catalogue with evidence `z >= min_z`, fastest first."""
    growing = [t for t in trends(series, window, min_volume) if t.z >= min_z]
    return sorted(growing, key=lambda t: (t.growth, t.z), reverse=True)[:top]


def declining(series: Mapping[str, pd.Series], window: int = 28, top: int = 10,
              min_volume: float = 10.0, min_z: float = 2.0) -> list[Trend]:
    """Series falling behind the catalogue with evidence `z <= -min_z`, steepest first."""
    falling = [t for t in trends(series, window, min_volume) if t.z <= -min_z]
    return sorted(falling, key=lambda t: (t.growth, t.z))[:top]


def anomalies(series: Mapping[str, pd.Series], lookback: int = 7, baseline: int = 56,
              alpha: float = 1e-3, min_value: float = 4.0) -> list[Anomaly]:
    """Spikes in the last `lookback` periods of each series, most surprising first.

    Each period is judged against the `baseline` periods before it: a negative binomial with
    their mean and variance (Poisson when not over-dispersed). A spike has upper-tail
    probability below `alpha` and at least `min_value` units.
    """
    found = []
    for key, s in series.items():
        values = np.clip(np.nan_to_num(s.to_numpy(dtype=float)), 0, None)
        for i in range(max(baseline, len(values) - lookback), len(values)):
            value = values[i]
            if value < min_value:
                continue
            past = values[i - baseline: i]
            p_value = _upper_tail(value, float(past.mean()), float(past.var(ddof=1)))
            if p_value < alpha:
                found.append(Anomaly(key, pd.Timestamp(s.index[i]).date(), float(value),
                                     float(past.mean()), p_value))
    return sorted(found, key=lambda a: a.p_value)


def _two_windows(s: pd.Series, window: int) -> tuple[float, float]:
    values = np.clip(np.nan_to_num(s.to_numpy(dtype=float)), 0, None)
    return float(values[-window:].sum()), float(values[-2 * window: -window].sum())


def _upper_tail(value: float, mean: float, var: float) -> float:
    """P(Y >= value) for counts with this mean and variance."""
    if mean <= 0:
        return 0.0
    if var > mean:
        size = mean**2 / (var - mean)
        return float(stats.nbinom.sf(math.ceil(value) - 1, size, mean / var))
    return float(stats.poisson.sf(math.ceil(value) - 1, mean))
