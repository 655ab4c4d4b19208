"""`topllantas erp` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="erp commands.", no_args_is_help=True)
