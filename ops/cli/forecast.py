"""`topllantas forecast` commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

app = typer.Typer(help="Demand forecasts: backtest on datasets, run on the ERP, show a SKU.",
                  no_args_is_help=True)


@app.command()
def backtest(
    data: Annotated[Path, typer.Option(
        exists=True, dir_okay=False,
        help="CSV: car-parts layout, M5 sales layout, or ds,y columns.")],
    h: Annotated[int | None, typer.Option(
        "--h", help="Horizon (default 12 monthly, 56 daily).")] = None,
    calendar: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False, help="M5 calendar: d -> date, events as holidays.")] = None,
    origins: Annotated[int, typer.Option(
        help="Held-out blocks of h periods, evaluated in turn.")] = 1,
    prophet: Annotated[bool, typer.Option(
        help="Also score Prophet alone on every series.")] = True,
    trim: Annotated[bool | None, typer.Option(
        help="Drop zeros before each series' first sale (default: on for M5, whose zeros "
        "precede launches).")] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N series.")] = None,
    workers: Annotated[int | None, typer.Option(
        help="Worker processes (default: one per core).")] = None,
) -> None:
    """Rolling-origin accuracy of every method and of the per-series choice on a dataset."""
    from processors.forecasting import ForecastConfig, evaluate_panel, make_pool
    from processors.forecasting.datasets import Layout, Panel, detect_layout, panel_from_frame
    from processors.forecasting.models import METHOD_NAMES, PROPHET

    console = Console()
    frame = pd.read_csv(data)
    layout = detect_layout(frame)
    panel = panel_from_frame(frame, data.stem,
                             pd.read_csv(calendar) if calendar is not None else None)
    if limit is not None:
        panel = Panel(panel.name, panel.freq, dict(list(panel.series.items())[:limit]),
                      panel.holidays)
    trim_zeros = layout is Layout.M5 if trim is None else trim
    monthly = panel.season_length == 12
    build = ForecastConfig.monthly if monthly else ForecastConfig.daily
    cfg = build(h or (12 if monthly else 56), holidays=panel.holidays,
                trim_leading_zeros=trim_zeros)
    methods = [m for m in METHOD_NAMES if prophet or m != PROPHET]
    console.print(f"{data.name}: {layout.value} layout, {len(panel.series)} series, "
                  f"freq {panel.freq}, h={cfg.horizon}, {origins} origin(s)")
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with make_pool(workers) as pool, Progress(*columns, console=console) as progress:
        task = progress.add_task("backtest", total=len(panel.series))
        result = evaluate_panel(panel, cfg, methods, pool, origins=origins,
                                on_progress=lambda n: progress.advance(task, n))
    table = Table(title=f"{panel.name}: {result.series} series scored, {result.skipped} too "
                  f"short, h={result.horizon}, {result.origins} origin(s)")
    table.add_column("method", no_wrap=True)
    for name in ("MASE", "RMSSE", "MAE/snaive", "bias", "p10-p90 cov", "cpu s"):
        table.add_column(name, justify="right")
    for m in result.methods:
        table.add_row(m.method, f"{m.mase:.3f}", f"{m.rmsse:.3f}", f"{m.mae_rel:.3f}",
                      f"{m.bias:+.3f}", "" if m.coverage is None else f"{m.coverage:.2f}",
                      f"{m.seconds:.1f}")
    console.print(table)
    console.print(f"classes: {result.classes}")
    console.print(f"models in the choice: {result.chosen_models}")
