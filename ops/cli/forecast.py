"""`topllantas forecast` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="forecast commands.", no_args_is_help=True)
