"""`topllantas routes` commands."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import asyncpg
import typer
from confluent_kafka import Producer
from rich.console import Console
from rich.table import Table

from ops.route_map import draw_routes, format_time, write_route_html
from processors.routing import (
    HaversineMatrixProvider,
    RoutingProblem,
    SolverSettings,
    check_plan,
    plan_routes,
)
from processors.routing.best_known import DISTANCE_ONLY, HIERARCHICAL, gap_percent
from processors.routing.delivery_day import depot_of, stop_of, vehicle_of
from processors.routing.solomon import read_solomon
from schemas.erp import Customer, Vehicle, Warehouse
from schemas.routes import DeliverableOrder, RouteDayEvent
from schemas.settings import get_settings
from transport.clients import confluent_producer_config

app = typer.Typer(help="Delivery routes: plan a day, show it, solve Solomon instances.",
                  no_args_is_help=True)


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


ORDERS_OF_DAY = """
SELECT o.id, o.customer_id, o.warehouse_id, sum(l.qty)::int AS tires,
       sum(l.qty * p.weight_kg)::float8 AS weight_kg
FROM sales_orders o
JOIN sales_order_lines l ON l.order_id = o.id
JOIN products p ON p.id = l.product_id
WHERE o.delivery_date = $1 AND o.warehouse_id = $2 AND o.status = 'confirmado'
  AND o.needs_delivery
GROUP BY o.id HAVING sum(l.qty) > 0
ORDER BY o.id
"""


async def _day_problem(dsn: str, route_date: date, branch: int) -> RoutingProblem:
    """The branch-day as the worker plans it, read straight from the ERP."""
    conn = await asyncpg.connect(dsn)
    try:
        warehouse = await conn.fetchrow("SELECT * FROM warehouses WHERE id = $1", branch)
        if warehouse is None:
            raise typer.BadParameter(f"no warehouse {branch}", param_hint="--branch")
        orders = await conn.fetch(ORDERS_OF_DAY, route_date, branch)
        customers = {r["id"]: Customer.model_validate(dict(r)) for r in await conn.fetch(
            "SELECT * FROM customers WHERE id = ANY($1::int[])",
            [o["customer_id"] for o in orders])}
        fleet = await conn.fetch("SELECT * FROM vehicles WHERE warehouse_id = $1 ORDER BY id",
                                 branch)
    finally:
        await conn.close()
    stops = tuple(
        stop_of(DeliverableOrder(sales_order_id=o["id"], customer_id=o["customer_id"],
                                 warehouse_id=branch, route_date=route_date, tires=o["tires"],
                                 weight_kg=round(o["weight_kg"], 1)),
                customers[o["customer_id"]])
        for o in orders)
    return RoutingProblem.build(
        (depot_of(Warehouse.model_validate(dict(warehouse))),), stops,
        tuple(vehicle_of(Vehicle.model_validate(dict(v))) for v in fleet),
        HaversineMatrixProvider(), name=f"{route_date.isoformat()}:{branch}")


@app.command()
def show(
    day: Annotated[datetime, typer.Option("--date", formats=["%Y-%m-%d"], help="Route date.")],
    branch: Annotated[int, typer.Option(help="Branch (warehouse id).")],
    seconds: Annotated[float, typer.Option(help="Time limit for the planner.")] = 10.0,
    png: Annotated[Path | None, typer.Option(help="Write a picture of the routes here.")] = None,
    html: Annotated[
        Path | None, typer.Option(help="Write a self-contained HTML map with tooltips here.")
    ] = None,
) -> None:
    """Plan one branch-day from the ERP's confirmed delivery orders and show it (read-only)."""
    console = Console()
    with console.status(f"reading orders of {day:%Y-%m-%d}, branch {branch} from the ERP"):
        problem = asyncio.run(_day_problem(get_settings().erp_dsn(), day.date(), branch))
    if not problem.stops or not problem.vehicles:
        console.print(f"nothing to plan: {len(problem.stops)} orders, "
                      f"{len(problem.vehicles)} vehicles")
        raise typer.Exit(0)
    with console.status(f"planning {len(problem.stops)} orders on {len(problem.vehicles)} "
                        f"vehicles ({seconds:g} s)"):
        plan = plan_routes(problem, SolverSettings(time_limit_s=seconds))
    check_plan(problem, plan)
    table = Table(title=f"{problem.name}: {len(problem.stops)} orders, engine {plan.engine}")
    for column in ("vehicle", "leaves", "back", "stops", "tires", "kg", "km"):
        table.add_column(column)
    for route in plan.routes:
        table.add_row(route.vehicle_id, format_time(route.departure, "min"),
                      format_time(route.return_time, "min"),
                      " ".join(route.order_ids), str(route.tires), f"{route.weight_kg:.0f}",
                      f"{route.distance:.1f}")
    console.print(table)
    for missing in plan.unassigned:
        console.print(f"[yellow]order {missing.order_id} unassigned: {missing.reason.value}"
                      f"{' - ' + missing.detail if missing.detail else ''}[/yellow]")
    if png is not None:
        console.print(f"wrote {draw_routes(plan, problem, png)}")
    if html is not None:
        console.print(f"wrote {write_route_html(plan, problem, html)}")


async def _branches(dsn: str) -> list[int]:
    conn = await asyncpg.connect(dsn)
    try:
        return [r["id"] for r in await conn.fetch(
            "SELECT id FROM warehouses WHERE is_branch ORDER BY id")]
    finally:
        await conn.close()


@app.command()
def plan(
    day: Annotated[datetime, typer.Option("--date", formats=["%Y-%m-%d"], help="Route date.")],
    branch: Annotated[
        int | None, typer.Option(help="Branch (warehouse id); every branch when left out.")
    ] = None,
    seconds: Annotated[float, typer.Option(help="Time limit for the worker's planner.")] = 30.0,
) -> None:
    """Ask the worker to plan (or re-plan) a day now, as the 18:00 crontab does.

    The worker publishes `routes.plans`, writes the routes to the ERP and tells the customers.
    """
    settings = get_settings()
    branches = [branch] if branch is not None else asyncio.run(_branches(settings.erp_dsn()))
    producer = Producer(confluent_producer_config(settings))
    for warehouse_id in branches:
        request = RouteDayEvent(kind="plan", route_date=day.date(), warehouse_id=warehouse_id,
                                at=datetime.now(UTC), time_limit_s=seconds, requested_by="cli")
        producer.produce("routes.day_events", key=request.key.encode(),
                         value=request.model_dump_json().encode())
    console = Console()
    if producer.flush(30) > 0:
        console.print("[red]the broker did not acknowledge every request within 30 s[/red]")
        raise typer.Exit(1)
    console.print(f"asked the worker to plan {day:%Y-%m-%d} for branches "
                    f"{', '.join(map(str, branches))}")
