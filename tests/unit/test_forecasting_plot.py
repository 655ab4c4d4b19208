"""The forecast chart is a PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ops.forecast_plot import plot_forecast
from processors.forecasting import ForecastConfig, forecast_series


def test_plot_forecast_writes_a_png(tmp_path: Path) -> None:
    idx = pd.date_range(end="2026-11-24", periods=120, freq="D")
    history = pd.Series(np.random.default_rng(1).poisson(6, 120).astype(float), index=idx)
    forecast = forecast_series("SKU-1", history, ForecastConfig.daily(28, use_prophet=False))
    out = plot_forecast(history, forecast, tmp_path / "charts" / "sku.png", tail=60)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out.stat().st_size > 5_000
