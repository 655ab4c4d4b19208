"""`topllantas erp seed|simulate`: the reference ERP of the demo and the tests."""

from __future__ import annotations

import asyncio
from datetime import date

import typer
from rich.console import Console
from rich.progress import Progress

from schemas.settings import Settings

app = typer.Typer(help="Reference ERP: schema, generated catalogue, simulated business day.",
                  no_args_is_help=True)
console = Console()


@app.command()
def seed(seed: int = typer.Option(7, help="Random seed; the same seed gives the same data."),
         reset: bool = typer.Option(True, help="Empty the ERP tables first."),
         end: str = typer.Option("", help="Last day of the sales history (YYYY-MM-DD); "
                                          "default: the day before today.")) -> None:
    """Create the ERP schema and load >= 2,000 SKUs, 3 branches, 600 customers, 2 years of sales."""
    from ops.erp.seed import TABLE_ORDER, seed_erp

    settings = Settings()
    with Progress(console=console) as progress:
        task = progress.add_task("seeding the ERP", total=len(TABLE_ORDER))

        def advance(table: str, rows: int) -> None:
            progress.console.print(f"  {table:<24} {rows:>8,} rows")
            progress.advance(task)

        counts = asyncio.run(seed_erp(settings.erp_dsn(), seed, reset=reset, progress=advance,
                                      end=date.fromisoformat(end) if end else None))
    console.print(f"[green]ERP seeded[/green]: {sum(counts.values()):,} rows")


@app.command()
def simulate(speed: float = typer.Option(
                 1.0, min=0.001, help="Times the seeded history's real pace (720 = a business "
                                      "day every two minutes)."),
             duration: float = typer.Option(60.0, help="Seconds to run (0 = until Ctrl-C)."),
             seed: int = typer.Option(11, help="Random seed.")) -> None:
    """Drive the live business: sales, cancellations, adjustments, receipts after lead time."""
    from ops.erp.simulate import simulate_day

    settings = Settings()
    stats = asyncio.run(simulate_day(settings.erp_dsn(), speed=speed, duration=duration,
                                     seed=seed))
    console.print(stats)
