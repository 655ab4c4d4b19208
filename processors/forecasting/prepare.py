"""Turn raw movements into a clean demand series: net returns, clip at zero, fill gaps."""

from __future__ import annotations

import numpy as np
import pandas as pd


def demand_series(movements: pd.Series, freq: str, end: pd.Timestamp | str | None = None,
                  start: pd.Timestamp | str | None = None) -> pd.Series:
    """Demand per period from signed quantities indexed by timestamp.

    Quantities in one period are netted first (a return cancels a sale in the same period) and
    the net is clipped at zero, so a period of returns is zero demand, never negative. Periods
    without movements between `start` (default: first movement) and `end` (default: last
    movement; pass the forecast date so recent silent days count as zeros) are zeros.
    """
    values = pd.to_numeric(movements, errors="coerce").fillna(0.0).astype(float)
    index = pd.DatetimeIndex(pd.to_datetime(movements.index))
    periods = index.to_period(period_freq(freq)).to_timestamp()
    net = values.groupby(periods.values).sum() if len(values) else pd.Series(dtype=float)
    lo = period_start(start, freq) if start is not None else None
    hi = period_start(end, freq) if end is not None else None
    if len(net) == 0 and (lo is None or hi is None):
        return pd.Series([], index=pd.DatetimeIndex([], freq=freq), dtype=float)
    first = lo if lo is not None else net.index.min()
    last = hi if hi is not None else net.index.max()
    full = pd.date_range(first, last, freq=freq)
    return net.reindex(full, fill_value=0.0).clip(lower=0.0).astype(float)


def active_history(demand: pd.Series, trim_leading_zeros: bool,
                   fallback_start: pd.Timestamp) -> tuple[np.ndarray, pd.Timestamp]:
    """Values (clipped at zero) and first date of the part of `demand` a model should see.

    With `trim_leading_zeros` the history starts at the first positive period: use it when the
    series carries zeros from before the product existed (pass launch-dated series otherwise).
    """
    y = np.clip(np.nan_to_num(demand.to_numpy(dtype=float)), 0.0, None)
    first = 0
    if trim_leading_zeros:
        positive = np.flatnonzero(y > 0)
        first = int(positive[0]) if len(positive) else len(y)
    start = pd.Timestamp(demand.index[first]) if first < len(y) else fallback_start
    return y[first:], start


def period_freq(freq: str) -> str:
    return "M" if freq in ("MS", "M", "ME") else freq


def period_start(when: pd.Timestamp | str, freq: str) -> pd.Timestamp:
    return pd.Timestamp(when).to_period(period_freq(freq)).to_timestamp()
