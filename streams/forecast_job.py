"""The forecasting job: ERP demand history -> per-series forecasts -> `forecasts.demand`.

Used by `topllantas forecast run` and by the worker's nightly crontab (off the event loop);
Prophet fits run in a process pool.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime

import orjson
from confluent_kafka import Producer

from processors.forecasting.config import ForecastConfig
from processors.forecasting.insights import anomalies, declining, fastest_growing
from processors.forecasting.pool import forecast_catalogue
from processors.forecasting.result import SeriesForecast
from schemas.forecasts import DemandForecast, DemandInsight
from schemas.settings import Settings
from sources.demand_history import load_daily_demand
from transport.clients import confluent_producer_config


def to_event(forecast: SeriesForecast, now: datetime) -> DemandForecast:
    product_id, warehouse_id = (int(x) for x in forecast.key.split(":"))
    return DemandForecast(
        product_id=product_id, warehouse_id=warehouse_id, generated_at=now,
        dates=list(forecast.dates), mean=list(forecast.mean), p10=list(forecast.p10),
        p90=list(forecast.p90), sigma=list(forecast.sigma), model=forecast.model,
        series_class=forecast.series_class.value, backtest_mase=_finite(forecast.backtest_mase),
        seasonal_naive_mase=_finite(forecast.seasonal_naive_mase),
        history_days=forecast.history_length)


def insights(series: dict, now: datetime) -> list[DemandInsight]:
    out: list[DemandInsight] = []
    for kind, trends in (("creciendo", fastest_growing(series)), ("declinando", declining(series))):
        for t in trends:
            p, w = (int(x) for x in t.key.split(":"))
            out.append(DemandInsight(
                kind=kind, product_id=p, warehouse_id=w, score=t.growth, generated_at=now,
                detail=f"últimos 28 días {t.recent:.0f} u vs {t.previous:.0f} u antes"))
    for a in anomalies(series):
        p, w = (int(x) for x in a.key.split(":"))
        out.append(DemandInsight(
            kind="anomalia", product_id=p, warehouse_id=w, score=a.value, generated_at=now,
            detail=f"{a.when:%Y-%m-%d}: {a.value:.0f} u, se esperaban {a.expected:.1f}"))
    return out


def changed_series(series: dict) -> list[int]:
    """Products whose recent demand moved a lot: fast growth, decline or an unusual spike."""
    keys = {t.key for t in fastest_growing(series, top=200)} | {
        t.key for t in declining(series, top=200)} | {a.key for a in anomalies(series)}
    return sorted({int(k.split(":")[0]) for k in keys})


def refresh_changed(settings: Settings) -> dict[str, float]:
    """The incremental refresh: re-forecast only the products whose demand changed a lot."""
    series = asyncio.run(load_daily_demand(settings.erp_dsn()))
    products = changed_series(series)
    if not products:
        return {"series": 0, "insights": 0, "seconds": 0.0}
    return run_forecast(settings, product_ids=products)


def run_forecast(settings: Settings, *, product_ids: list[int] | None = None,
                 on_total: Callable[[int], None] | None = None,
                 on_progress: Callable[[int], None] | None = None) -> dict[str, float]:
    """Forecast every product×warehouse with sales history and publish the results."""
    started = time.perf_counter()
    series = asyncio.run(load_daily_demand(settings.erp_dsn(), product_ids))
    if on_total:
        on_total(len(series))
    forecasts = forecast_catalogue(series, ForecastConfig.daily(), on_progress=on_progress)
    now = datetime.now(UTC)
    producer = Producer(confluent_producer_config(settings))
    for forecast in forecasts.values():
        event = to_event(forecast, now)
        producer.produce("forecasts.demand", key=_key(event.product_id, event.warehouse_id),
                         value=event.model_dump_json())
    found = insights(series, now) if product_ids is None else []
    for insight in found:
        producer.produce("forecasts.insights", key=_key(insight.product_id, insight.warehouse_id),
                         value=insight.model_dump_json())
    producer.flush(60)
    return {"series": len(forecasts), "insights": len(found),
            "seconds": round(time.perf_counter() - started, 1)}


def _key(product_id: int, warehouse_id: int) -> bytes:
    return orjson.dumps({"product_id": product_id, "warehouse_id": warehouse_id})


def _finite(value: float | None) -> float | None:
    return value if value is not None and value == value and abs(value) != float("inf") else None
