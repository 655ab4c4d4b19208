"""`topllantas worker`: start a Faust worker of the stream app."""

from __future__ import annotations

import os
import sys

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def worker(
        loglevel: str = typer.Option("warn", help="Faust log level (debug, info, warn, error)."),
        flows: str = typer.Option(
            None, help="Run only these flows (comma list of stock, agent, sinks, forecasts, "
                       "routes, analytics), as their own Faust app; default: WORKER_FLOWS or all."),
    ) -> None:
        """Start a Faust worker (same as `faust -A streams.app worker`)."""
        from schemas.settings import InsecureSettings, get_settings
        from streams.flows import UnknownFlow, parse_flows

        if flows is not None:
            try:
                parse_flows(flows)
            except UnknownFlow as exc:
                raise typer.BadParameter(str(exc), param_hint="--flows") from None
            os.environ["WORKER_FLOWS"] = flows
            get_settings.cache_clear()
        try:
            get_settings().check_worker_bind()
        except InsecureSettings as exc:
            typer.echo(f"worker: {exc}", err=True)
            raise typer.Exit(2) from None
        from streams.app import app as faust_app

        # Faust parses sys.argv itself: hand it only its own options.
        sys.argv = [sys.argv[0], "worker", "-l", loglevel]
        faust_app.main()
