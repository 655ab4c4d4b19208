"""`topllantas demo`: the whole pipeline live on the embedded stack."""

from __future__ import annotations

import typer
from rich.console import Console

from schemas.settings import Settings

DEMO_SPEED = 720.0  # a simulated business day every two minutes


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(duration: float = typer.Option(0, help="Seconds to run (0 = until Ctrl-C)."),
             speed: float = typer.Option(
                 DEMO_SPEED, min=0.001, help="The ERP's business at this many times the seeded "
                                             "history's real pace (720: a day every 2 minutes)."),
             reseed: bool = typer.Option(False, help="Reload the ERP catalogue first."),
             history_days: int = typer.Option(
                 90, min=1, help="Days of sales history CDC snapshots onto Kafka (the stock "
                                 "alerts' demand window); CDC_SNAPSHOT_DAYS wins if set.")) -> None:
        """Start the embedded stack, seed the ERP, run CDC + workers and a simulated day."""
        from ops.demo.run import run_demo

        run_demo(Settings(), duration=duration, speed=speed, reseed=reseed,
                 history_days=history_days, console=Console())
