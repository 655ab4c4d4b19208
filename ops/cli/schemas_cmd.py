"""`topllantas schemas export`: JSON Schema files of every contract under schemas/json/."""

from __future__ import annotations

import typer
from rich.console import Console

app = typer.Typer(help="Contracts: export JSON Schemas.", no_args_is_help=True)
console = Console()


@app.command()
def export() -> None:
    """Write schemas/json/*.json from the pydantic models (a test fails when they are stale)."""
    from schemas.json_schemas import export as do_export

    paths = do_export()
    console.print(f"wrote {len(paths)} JSON Schema files under schemas/json/")


@app.command()
def check() -> None:
    """Exit 1 when schemas/json/ differs from the models."""
    from schemas.json_schemas import JSON_DIR, render_all

    stale = [name for name, text in render_all().items()
             if not (JSON_DIR / name).exists() or (JSON_DIR / name).read_text() != text]
    if stale:
        console.print(f"[red]stale:[/red] {', '.join(stale)}; run `topllantas schemas export`")
        raise typer.Exit(1)
    console.print("schemas are up to date")
