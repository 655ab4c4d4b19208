"""Run forecasts in worker processes so Prophet never blocks the caller or an event loop.

A forecast pool is a `ProcessPoolExecutor` started with `spawn` (safe next to threads and an
asyncio loop) whose workers import Prophet once. Series travel in small chunks so the workers
stay evenly busy; statsforecast models run in the same workers, next to Prophet.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from functools import partial
from typing import TypeVar

import pandas as pd

from processors.forecasting.config import ForecastConfig
from processors.forecasting.forecast import forecast_series
from processors.forecasting.prophet_model import quiet_prophet_logs
from processors.forecasting.result import SeriesForecast

DEFAULT_CHUNK = 8
T = TypeVar("T")
R = TypeVar("R")


def make_pool(workers: int | None = None) -> ProcessPoolExecutor:
    """A long-lived forecast pool (create once, e.g. at worker start-up; shut down on exit)."""
    return ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1,
                               mp_context=multiprocessing.get_context("spawn"),
                               initializer=_warm_up)


@contextmanager
def pool_or(executor: Executor | None, workers: int | None = None) -> Iterator[Executor]:
    """`executor` if given, else a temporary forecast pool closed on exit."""
    if executor is not None:
        yield executor
        return
    with make_pool(workers) as pool:
        yield pool


def forecast_catalogue(series: Mapping[str, pd.Series], cfg: ForecastConfig, *,
                       as_of: pd.Timestamp | str | None = None,
                       executor: Executor | None = None, workers: int | None = None,
                       chunk_size: int = DEFAULT_CHUNK,
                       on_progress: Callable[[int], None] | None = None
                       ) -> dict[str, SeriesForecast]:
    """Forecast every series (blocking). `as_of` defaults to the latest date of any series, so
    a SKU that stopped selling has its recent silent periods counted as zero demand."""
    as_of = as_of if as_of is not None else latest_date(series)
    with pool_or(executor, workers) as pool:
        done = map_in_pool(partial(forecast_chunk, cfg=cfg, as_of=as_of), list(series.items()),
                           pool, chunk_size, on_progress)
    return {f.key: f for f in done}


async def forecast_catalogue_async(series: Mapping[str, pd.Series], cfg: ForecastConfig,
                                   executor: Executor, *,
                                   as_of: pd.Timestamp | str | None = None,
                                   chunk_size: int = DEFAULT_CHUNK
                                   ) -> dict[str, SeriesForecast]:
    """`forecast_catalogue` for an event loop: the work runs in `executor` (a `make_pool()`),
    the loop only awaits the chunks."""
    as_of = as_of if as_of is not None else latest_date(series)
    loop = asyncio.get_running_loop()
    parts = await asyncio.gather(*(
        loop.run_in_executor(executor, forecast_chunk, chunk, cfg, as_of)
        for chunk in chunks(list(series.items()), chunk_size)))
    results = {f.key: f for part in parts for f in part}
    return {key: results[key] for key in series}


def forecast_chunk(items: Sequence[tuple[str, pd.Series]], cfg: ForecastConfig,
                   as_of: pd.Timestamp | str | None) -> list[SeriesForecast]:
    """Worker entry point: forecast a few series."""
    return [forecast_series(key, history, cfg, as_of) for key, history in items]


def map_in_pool(fn: Callable[[Sequence[T]], list[R]], items: Sequence[T], executor: Executor,
                chunk_size: int = DEFAULT_CHUNK,
                on_progress: Callable[[int], None] | None = None) -> list[R]:
    """`fn` over `items` in chunks in the pool; results in input order."""
    futures: dict[Future[list[R]], int] = {
        executor.submit(fn, chunk): i for i, chunk in enumerate(chunks(items, chunk_size))}
    parts: dict[int, list[R]] = {}
    for future in as_completed(futures):
        parts[futures[future]] = future.result()
        if on_progress is not None:
            on_progress(len(parts[futures[future]]))
    return [r for i in sorted(parts) for r in parts[i]]


def latest_date(series: Mapping[str, pd.Series]) -> pd.Timestamp | None:
    ends = [pd.Timestamp(s.index.max()) for s in series.values() if len(s)]
    return max(ends) if ends else None


def chunks(items: Sequence[T], size: int) -> list[list[T]]:
    return [list(items[i: i + size]) for i in range(0, len(items), max(1, size))]


def _warm_up() -> None:
    """Import Prophet and its Stan backend once per worker, not on the first fit."""
    quiet_prophet_logs()
