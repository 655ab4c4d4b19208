"""The catalogue runs in a process pool; Prophet is a candidate for a long smooth series."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
import pytest

from processors.forecasting import (
    ForecastConfig,
    SeriesClass,
    forecast_catalogue,
    forecast_catalogue_async,
    make_pool,
)

END = pd.Timestamp("2026-11-24")


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessPoolExecutor]:
    with make_pool(2) as executor:
        yield executor


def _catalogue() -> dict[str, pd.Series]:
    rng = np.random.default_rng(3)
    idx = pd.date_range(end=END, periods=400, freq="D")
    weekday = np.array([0.95, 0.9, 0.95, 1.0, 1.15, 1.45, 0.6])[idx.weekday]
    return {
        "SMOOTH": pd.Series(rng.poisson(15 * weekday).astype(float), index=idx),
        "SPARSE": pd.Series((rng.random(400) < 0.1) * 2.0, index=idx),
        "NEW": pd.Series([1.0, 0.0, 3.0], index=idx[-3:]),
        "EMPTY": pd.Series([], dtype=float),
    }


def test_catalogue_in_a_pool_keeps_order_and_tries_prophet(pool: ProcessPoolExecutor) -> None:
    series = _catalogue()
    seen: list[int] = []
    result = forecast_catalogue(series, ForecastConfig.daily(28), executor=pool,
                                chunk_size=1, on_progress=seen.append)
    assert list(result) == list(series)
    assert sum(seen) == len(series)
    smooth = result["SMOOTH"]
    assert smooth.series_class is SeriesClass.SMOOTH
    assert "Prophet" in smooth.candidate_mase  # backtested, chosen only if it ranks
    assert np.isfinite(smooth.candidate_mase["Prophet"])
    assert result["EMPTY"].dates[0] == (END + pd.Timedelta(days=1)).date()  # catalogue as-of
    assert result["NEW"].series_class is SeriesClass.SHORT


async def test_async_catalogue_does_not_block_the_loop(pool: ProcessPoolExecutor) -> None:
    series = {k: v for k, v in _catalogue().items() if k != "SMOOTH"}
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)  # a blocked loop never gets here while the forecasts run

    task = asyncio.create_task(ticker())
    result = await forecast_catalogue_async(series, ForecastConfig.daily(28), pool,
                                            chunk_size=1)
    task.cancel()
    assert set(result) == set(series)
    assert ticks > 1
