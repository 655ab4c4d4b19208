"""Discrete lead-time demand: the reorder point of slow and intermittent items (pure).

A normal approximation of the demand over the lead time (plus review period) is poor when few
units are expected: it puts mass on negative demand and its quantile, rounded up, misses the
cycle service level by whole units. Below `InventoryConfig.discrete_below_units` expected units
the policy reads the reorder point off a count distribution with the same mean μ and variance v:

- Poisson(μ) when v ≤ μ (a count cannot be less dispersed than that without a model of it);
- negative binomial with r = μ² / (v − μ), p = μ / v otherwise (over-dispersed, lumpy demand):
  P(0) = p^r, P(k + 1) = P(k) · (k + r) / (k + 1) · (1 − p).

The reorder point is the smallest whole s with P(D ≤ s) ≥ the service level. The probabilities
are summed term by term (no SciPy call), so the stock-alert agent can afford it on every stock
change; the loop is bounded because it only runs for small means.

`empirical_quantile` is the third option, for a simulation or report that has the history at
hand: the service-level quantile of every past window's total over the lead time (an overlapping
block bootstrap), which keeps whatever shape the demand really has.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist
from typing import Literal

Distribution = Literal["poisson", "negative_binomial"]
_MAX_TERMS = 100_000


def distribution_for(mean: float, variance: float) -> Distribution:
    """Poisson when not over-dispersed (v ≤ μ), else negative binomial."""
    return "negative_binomial" if variance > mean * (1 + 1e-9) else "poisson"


def discrete_quantile(mean: float, variance: float, level: float) -> int:
    """Smallest whole s with P(D ≤ s) ≥ level, D ~ Poisson or negative binomial with this mean
    and variance (module docstring). A zero mean needs nothing."""
    if not 0 < level < 1:
        raise ValueError(f"service level must be in (0, 1), got {level}")
    if mean < 0 or variance < 0:
        raise ValueError("mean and variance must be >= 0")
    if mean <= 1e-12:
        return 0
    if distribution_for(mean, variance) == "poisson":
        r, q = math.inf, mean  # P(k + 1) = P(k) · μ / (k + 1)
        prob = math.exp(-mean)
    else:
        r = mean * mean / (variance - mean)
        q = 1 - mean / variance
        prob = math.exp(r * math.log(mean / variance))
    total = prob
    k = 0
    while total < level - 1e-12 and k < _MAX_TERMS:
        prob *= (q if r == math.inf else (k + r) * q) / (k + 1)
        k += 1
        total += prob
        if prob == 0.0 and total < level:  # underflow of a far tail: fall back to the normal
            return math.ceil(mean + _normal_z(level) * math.sqrt(max(variance, mean)))
    return k


def _normal_z(level: float) -> float:
    return NormalDist().inv_cdf(level)


def empirical_quantile(history: Sequence[float], periods: int, level: float) -> int:
    """The `level` quantile (smallest total with at least that share of windows at or below
    it) of the totals of every `periods`-long window of `history` (oldest first, one value per
    period). Without a full window the mean rate times `periods`, rounded up, is returned."""
    if periods < 1:
        raise ValueError("periods must be at least 1")
    if not 0 < level < 1:
        raise ValueError(f"service level must be in (0, 1), got {level}")
    values = [max(0.0, float(v)) for v in history]
    if len(values) < periods:
        rate = sum(values) / len(values) if values else 0.0
        return math.ceil(rate * periods - 1e-9)
    window = sum(values[:periods])
    totals = [window]
    for i in range(periods, len(values)):
        window += values[i] - values[i - periods]
        totals.append(window)
    totals.sort()
    index = max(0, math.ceil(level * len(totals)) - 1)
    return math.ceil(totals[index] - 1e-9)
