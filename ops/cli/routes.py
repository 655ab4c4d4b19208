"""`topllantas routes` commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ops.route_map import draw_routes, write_route_html
from processors.routing import SolverSettings, check_plan, plan_routes
from processors.routing.best_known import DISTANCE_ONLY, HIERARCHICAL, gap_percent
from processors.routing.solomon import read_solomon

app = typer.Typer(help="routes commands.", no_args_is_help=True)


@app.command()
def solomon(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, help="Solomon instance in the standard text format."
        ),
    ],
    seconds: Annotated[float, typer.Option(help="Time limit for the planner.")] = 10.0,
    png: Annotated[Path | None, typer.Option(help="Write a picture of the routes here.")] = None,
    html: Annotated[
        Path | None, typer.Option(help="Write a self-contained HTML map with tooltips here.")
    ] = None,
) -> None:
    """Solve a Solomon VRPTW instance (OR-Tools and PyVRP racing) and optionally draw it."""
    instance = read_solomon(file)
    problem = instance.to_problem()
    plan = plan_routes(problem, SolverSettings(time_limit_s=seconds))
    check_plan(problem, plan)
    name = instance.name.strip().upper()
    table = Table(title=f"{instance.name}: {len(problem.stops)} customers, {seconds:g} s")
    for column in (
        "engine",
        "vehicles",
        "distance",
        "best-known",
        "gap %",
        "dist-only opt",
        "gap %",
        "unassigned",
    ):
        table.add_column(column)
    best, optimum = HIERARCHICAL.get(name), DISTANCE_ONLY.get(name)
    table.add_row(
        plan.engine,
        str(plan.vehicles_used),
        f"{plan.distance:.2f}",
        f"{best.vehicles} / {best.distance:.2f}" if best else "-",
        _percent(gap_percent(plan.distance, best)),
        f"{optimum.vehicles} / {optimum.distance:.1f}" if optimum else "-",
        _percent(gap_percent(plan.distance, optimum)),
        str(len(plan.unassigned)),
    )
    console = Console()
    console.print(table)
    for run in plan.runs:
        rejected = f", rejected: {run.rejected}" if run.rejected else ""
        console.print(
            f"[dim]{run.engine}: cost {run.cost or 0:.2f}, {run.seconds:.1f} s, "
            f"stopped by {run.stopped_by}{rejected}[/dim]"
        )
    if png is not None:
        console.print(f"wrote {draw_routes(plan, problem, png)}")
    if html is not None:
        console.print(f"wrote {write_route_html(plan, problem, html)}")


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{round(value, 2) + 0.0:+.2f}"
