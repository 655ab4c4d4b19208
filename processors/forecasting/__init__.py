"""Demand forecasting per SKU: classify each series, backtest candidate models on its own
history, forecast with the per-series choice, and size the spread for safety stock.

Pure logic (no Kafka, no database). Prophet runs in worker processes (`make_pool`); use
`forecast_catalogue_async` from an event loop.
"""

from processors.forecasting.classify import Classification, SeriesClass, classify
from processors.forecasting.config import ForecastConfig
from processors.forecasting.datasets import Panel, panel_from_frame
from processors.forecasting.evaluate import AccuracyReport, MethodAccuracy, evaluate_panel
from processors.forecasting.forecast import forecast_series
from processors.forecasting.insights import (
    Anomaly,
    Trend,
    anomalies,
    declining,
    fastest_growing,
    trends,
)
from processors.forecasting.pool import (
    forecast_catalogue,
    forecast_catalogue_async,
    make_pool,
)
from processors.forecasting.prepare import demand_series
from processors.forecasting.result import SeriesForecast

__all__ = [
    "AccuracyReport",
    "Anomaly",
    "Classification",
    "ForecastConfig",
    "MethodAccuracy",
    "Panel",
    "SeriesClass",
    "SeriesForecast",
    "Trend",
    "anomalies",
    "classify",
    "declining",
    "demand_series",
    "evaluate_panel",
    "fastest_growing",
    "forecast_catalogue",
    "forecast_catalogue_async",
    "forecast_series",
    "make_pool",
    "panel_from_frame",
    "trends",
]
