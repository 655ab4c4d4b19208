"""`topllantas schemas_cmd` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="schemas_cmd commands.", no_args_is_help=True)
