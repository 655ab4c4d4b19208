"""Demand-forecast retrains, run by the leader worker off the event loop: the whole catalogue
nightly, and every business hour the series whose demand changed a lot.

The job (ops/forecast_job.py) reads the demand history from the ERP, fits every series in a
process pool and publishes `forecasts.demand`; the stock policy consumes those events. Running
it in a thread keeps stock alerts and conversations flowing while the catalogue retrains.
"""

from __future__ import annotations

import asyncio
import logging

from schemas.settings import get_settings
from schemas.timezones import MEXICO_CITY
from streams.app import app
from streams.forecast_job import refresh_changed, run_forecast

log = logging.getLogger("topllantas.forecasting")


@app.crontab("0 2 * * *", timezone=MEXICO_CITY, on_leader=True)
async def nightly_forecast() -> None:
    stats = await asyncio.to_thread(run_forecast, get_settings())
    log.info("nightly forecast: %s", stats)


@app.crontab("30 8-20 * * *", timezone=MEXICO_CITY, on_leader=True)
async def refresh_changed_forecasts() -> None:
    """Every business hour: re-forecast the series whose demand changed a lot since last night."""
    stats = await asyncio.to_thread(refresh_changed, get_settings())
    log.info("incremental forecast refresh: %s", stats)
