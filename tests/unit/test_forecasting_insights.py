"""Fastest-growing, declining and spiking products from a set of series."""

from __future__ import annotations

import numpy as np
import pandas as pd

from processors.forecasting import anomalies, declining, fastest_growing

IDX = pd.date_range(end="2026-11-24", periods=120, freq="D")


def _catalogue() -> dict[str, pd.Series]:
    rng = np.random.default_rng(5)
    steady = {f"STEADY-{i}": pd.Series(rng.poisson(5, 120).astype(float), index=IDX)
              for i in range(10)}
    ramp = np.r_[np.full(92, 3.0), np.full(28, 12.0)]
    fade = np.r_[np.full(92, 10.0), np.full(28, 2.0)]
    spike = rng.poisson(4, 120).astype(float)
    spike[-2] = 40.0
    return {**steady,
            "GROWING": pd.Series(rng.poisson(ramp).astype(float), index=IDX),
            "FADING": pd.Series(rng.poisson(fade).astype(float), index=IDX),
            "SPIKE": pd.Series(spike, index=IDX),
            "TINY": pd.Series(np.r_[np.zeros(115), [0, 1, 0, 1, 1]], index=IDX)}


def test_growing_and_declining_products_are_found_and_ranked() -> None:
    series = _catalogue()
    growing = fastest_growing(series, window=28)
    falling = declining(series, window=28)
    assert growing[0].key == "GROWING" and growing[0].growth > 1.5
    assert falling[0].key == "FADING" and falling[0].growth < -0.5
    assert all(t.key != "TINY" for t in growing)  # below the volume floor
    assert not {t.key for t in growing} & {t.key for t in falling}


def test_a_spike_is_an_anomaly_and_ordinary_days_are_not() -> None:
    found = anomalies(_catalogue(), lookback=7, baseline=56)
    assert [a.key for a in found] == ["SPIKE"]
    assert found[0].when == IDX[-2].date() and found[0].value == 40.0
    assert found[0].expected < 6 and found[0].p_value < 1e-6


def test_first_sale_after_silence_is_a_spike_only_when_large() -> None:
    quiet = np.zeros(120)
    quiet[-1] = 2.0
    assert anomalies({"Q": pd.Series(quiet, index=IDX)}) == []
    quiet[-1] = 12.0
    assert [a.key for a in anomalies({"Q": pd.Series(quiet, index=IDX)})] == ["Q"]
