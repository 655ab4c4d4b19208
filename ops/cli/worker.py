"""`topllantas worker`: start a Faust worker of the stream app."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def worker(loglevel: str = typer.Option("info", help="Faust log level.")) -> None:
        """Start a Faust worker (same as `faust -A streams.app worker`)."""
        from streams.app import app as faust_app

        faust_app.main_argv = ["worker", "-l", loglevel]  # type: ignore[attr-defined]
        faust_app.main()
