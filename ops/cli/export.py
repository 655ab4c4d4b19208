"""`topllantas export TOPIC --since ISO --to FILE.parquet|FILE.csv`: a topic for analysts."""

from __future__ import annotations

from datetime import datetime, time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from processors.analytics.calendar import MX

console = Console()


def parse_since(text: str) -> datetime:
    """ISO date or date-time; without an offset it is Mexico City time."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"not an ISO date or date-time: {text!r}") from None
    if len(text) == 10:  # a bare date: from midnight
        when = datetime.combine(when.date(), time())
    return when.replace(tzinfo=MX) if when.tzinfo is None else when


def register(app: typer.Typer) -> None:
    @app.command()
    def export(
        topic: Annotated[str, typer.Argument(help="Topic name from topics.yaml.")],
        to: Annotated[Path, typer.Option("--to", help="Output file: .parquet or .csv.")],
        since: Annotated[str | None, typer.Option(
            help="Keep records from this ISO date/date-time (Mexico City if no offset).")] = None,
    ) -> None:
        """Read TOPIC from the beginning and write the records since --since with pyarrow."""
        from ops.export import export_topic
        from schemas.settings import get_settings
        from schemas.topics import load_catalogue

        catalogue = load_catalogue()
        if topic not in catalogue.topics:
            raise typer.BadParameter(f"{topic!r} is not in topics.yaml", param_hint="TOPIC")
        if to.suffix.lower() not in (".parquet", ".csv"):
            raise typer.BadParameter("use a .parquet or .csv file", param_hint="--to")
        start = parse_since(since) if since else None
        columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn())
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task(f"reading {topic}", total=None)
            rows = export_topic(get_settings().bootstrap_servers(), catalogue, topic, start, to,
                                progress=lambda done, total: bar.update(task, completed=done,
                                                                        total=total))
        console.print(f"{rows:,} records of {topic} written to {to}")
