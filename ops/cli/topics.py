"""`topllantas topics apply|list`: the topic catalogue on the broker."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from schemas.settings import Settings

app = typer.Typer(help="Topic catalogue (topics.yaml) on the broker.", no_args_is_help=True)
console = Console()


@app.command()
def apply() -> None:
    """Create missing topics (dead-letter topics included) and report drift. Idempotent."""
    from ops.topics_admin import apply_catalogue

    report = apply_catalogue(Settings())
    table = Table("topic", "status", "detail")
    for row in report:
        table.add_row(row.topic, row.status, row.detail)
    console.print(table)
    created = sum(r.status == "created" for r in report)
    drift = sum(r.status == "drift" for r in report)
    console.print(f"{created} created, {drift} with drift, {len(report)} in the catalogue")
