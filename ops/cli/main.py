"""The `topllantas` command line: one entry point, one sub-command group per room."""

from __future__ import annotations

import warnings

import typer

from ops.cli import (
    bench,
    cdc,
    chaos,
    demo,
    dev,
    dlq,
    erp,
    forecast,
    forecast_erp,
    routes,
    schemas_cmd,
    topics,
    webhook,
    worker,
)
from ops.cli import export as export_cli
from ops.reports import cli as report_cli

app = typer.Typer(
    help="TopLlantas Stream: ERP change events into Kafka, Faust processors, idempotent sinks.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(dev.app, name="dev")
app.add_typer(erp.app, name="erp")
app.add_typer(topics.app, name="topics")
app.add_typer(cdc.app, name="cdc")
app.add_typer(dlq.app, name="dlq")
app.add_typer(schemas_cmd.app, name="schemas")
app.add_typer(bench.app, name="bench")
forecast_erp.register(forecast.app)
app.add_typer(forecast.app, name="forecast")
app.add_typer(routes.app, name="routes")
worker.register(app)
demo.register(app)
chaos.register(app)
webhook.register(app)
export_cli.register(app)
app.add_typer(report_cli.app, name="report")



def run() -> None:
    """Entry point: known operational errors print one clear line instead of a traceback."""
    from ops.stack.processes import StackError
    from schemas.settings import StackNotRunning

    # platformdirs warns on machines without a login session; it is noise for a CLI.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    try:
        app()
    except (StackError, StackNotRunning) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from None


if __name__ == "__main__":
    run()
