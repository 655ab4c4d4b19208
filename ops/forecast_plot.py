"""PNG chart of a forecast: history, forecast mean and the p10-p90 band."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from processors.forecasting.result import SeriesForecast  # noqa: E402


def plot_forecast(history: pd.Series, forecast: SeriesForecast, path: Path | str,
                  *, tail: int | None = None) -> Path:
    """Draw the last `tail` periods of `history` (all by default) and `forecast` to `path`."""
    path = Path(path)
    shown = history.iloc[-tail:] if tail else history
    dates = pd.to_datetime(list(forecast.dates))
    fig, ax = plt.subplots(figsize=(10, 4), dpi=100)
    try:
        ax.plot(shown.index, shown.to_numpy(dtype=float), color="0.35", lw=1, label="history")
        ax.fill_between(dates, forecast.p10, forecast.p90, color="tab:blue", alpha=0.2,
                        label="p10-p90")
        ax.plot(dates, forecast.mean, color="tab:blue", lw=2, label="forecast mean")
        mase = "n/a" if forecast.backtest_mase is None else f"{forecast.backtest_mase:.2f}"
        ax.set_title(f"{forecast.key}: {forecast.model} ({forecast.series_class.value}, "
                     f"backtest MASE {mase})", fontsize=10)
        ax.set_ylabel("units")
        ax.set_ylim(bottom=0)
        ax.legend(loc="upper left", fontsize=8)
        ax.grid(alpha=0.3)
        fig.autofmt_xdate()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png", bbox_inches="tight")
    finally:
        plt.close(fig)
    return path
