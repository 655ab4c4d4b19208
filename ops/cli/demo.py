"""`topllantas demo`: the whole pipeline live on the embedded stack."""

from __future__ import annotations

import typer
from rich.console import Console

from schemas.settings import Settings


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(duration: float = typer.Option(0, help="Seconds to run (0 = until Ctrl-C)."),
             rate: float = typer.Option(20, help="ERP business transactions per second."),
             reseed: bool = typer.Option(False, help="Reload the ERP catalogue first.")) -> None:
        """Start the embedded stack, seed the ERP, run CDC + worker and a simulated day."""
        from ops.demo.run import run_demo

        run_demo(Settings(), duration=duration, rate=rate, reseed=reseed, console=Console())
