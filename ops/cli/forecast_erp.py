"""`topllantas forecast run|show`: forecasts of the ERP's own catalogue."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from schemas.settings import Settings


def register(app: typer.Typer) -> None:
    @app.command()
    def run() -> None:
        """Retrain every product×warehouse with sales and publish `forecasts.demand`."""
        from streams.forecast_job import run_forecast

        console = Console()
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn())
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("forecasting", total=None)
            stats = run_forecast(
                Settings(), on_total=lambda n: progress.update(task, total=n),
                on_progress=lambda n: progress.advance(task, n))
        console.print(f"published {stats['series']:,} forecasts and {stats['insights']} "
                      f"insights in {stats['seconds']} s")

    @app.command()
    def show(sku: Annotated[str, typer.Argument(help="Product SKU, e.g. MIC-2055516-0100S.")],
             warehouse: Annotated[int, typer.Option(help="Warehouse id.")] = 1,
             out: Annotated[Path | None, typer.Option(
                 help="PNG path (default: forecast-<SKU>-<W>.png).")] = None) -> None:
        """Draw a PNG of the SKU's daily history, forecast mean and p10-p90 band."""
        import asyncio

        from ops.forecast_plot import plot_forecast
        from processors.forecasting.config import ForecastConfig
        from processors.forecasting.forecast import forecast_series
        from sources.demand_history import load_daily_demand, product_id_of_sku, series_key

        console = Console()
        settings = Settings()
        product_id = asyncio.run(product_id_of_sku(settings.erp_dsn(), sku))
        if product_id is None:
            console.print(f"[red]unknown SKU {sku}[/red]")
            raise typer.Exit(1)
        series = asyncio.run(load_daily_demand(settings.erp_dsn(), [product_id]))
        key = series_key(product_id, warehouse)
        history = series.get(key)
        if history is None:
            console.print(f"[yellow]{sku} has no sales in warehouse {warehouse}[/yellow]")
            raise typer.Exit(1)
        with console.status(f"forecasting {sku}…"):
            forecast = forecast_series(key, history, ForecastConfig.daily())
            daily = history.asfreq("D", fill_value=0.0)
            path = plot_forecast(daily, forecast, out or Path(f"forecast-{sku}-{warehouse}.png"),
                                 tail=365)
        console.print(f"{sku} @ {warehouse}: model {forecast.model} "
                      f"({forecast.series_class.value}), backtest MASE "
                      f"{forecast.backtest_mase if forecast.backtest_mase is not None else 'n/a'}"
                      f" -> {path}")
