"""`topllantas dev up|down|status`: the embedded stack (Tansu broker + PostgreSQL)."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from ops.stack import stack
from ops.stack.processes import StackError
from schemas.settings import Settings

app = typer.Typer(help="Embedded stack: Tansu broker and PostgreSQL on free loopback ports.",
                  no_args_is_help=True)
console = Console()


@app.command()
def up() -> None:
    """Start the embedded broker and PostgreSQL (reusing the ERP data directory)."""
    settings = Settings()
    try:
        state = stack.up(settings)
    except StackError as exc:
        console.print(f"[red]dev up failed:[/red] {exc}")
        raise typer.Exit(1) from None
    console.print(f"broker   127.0.0.1:{state.broker.port} (pid {state.broker.pid})"
                  + (" [yellow]new, empty[/yellow]" if state.broker_fresh else ""))
    console.print(f"postgres 127.0.0.1:{state.postgres.port} (pid {state.postgres.pid})")


@app.command()
def down() -> None:
    """Stop the embedded stack's processes (data stays under the state folder)."""
    stopped = stack.down(Settings())
    console.print("stopped: " + (", ".join(stopped) or "nothing was running"))


@app.command()
def status() -> None:
    """Show the embedded stack's processes, ports and uptime."""
    rows = stack.status(Settings())
    if not rows:
        console.print("the embedded stack is not up (`topllantas dev up`)")
        raise typer.Exit(1)
    table = Table("component", "pid", "port", "running", "uptime s")
    for name, row in rows.items():
        table.add_row(name, str(row["pid"]), str(row["port"]),
                      "yes" if row["running"] else "[red]no[/red]", str(row["uptime_s"]))
    console.print(table)
