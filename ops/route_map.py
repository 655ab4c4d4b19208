"""Pictures of a route plan: a PNG (matplotlib) and a self-contained HTML page (inline SVG).

One panel per branch that has routes (branches are often hundreds of km apart); each route in
its own colour, the depot as a black square, unassigned orders as grey crosses. The HTML page
needs no JavaScript or CDN: hovering a stop shows its order, vehicle, window and planned time
through SVG <title> tooltips.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import colormaps  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

from processors.routing import Coordinates, Route, RoutePlan, RoutingProblem  # noqa: E402


def format_time(value: float, time_unit: str) -> str:
    """Clock time for minutes since midnight ("08:05"); plain numbers for abstract units."""
    if time_unit != "min":
        return f"{value:.1f}"
    minutes = round(value)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class _Panel:
    depot_id: str
    routes: tuple[Route, ...]
    unassigned: tuple[Coordinates, ...]


def draw_routes(
    plan: RoutePlan, problem: RoutingProblem, path: str | Path, *, title: str | None = None
) -> Path:
    """Write a PNG of `plan` to `path` and return the path."""
    path = Path(path)
    panels = _panels(plan, problem)
    colours = _colours(plan)
    fig, axes = plt.subplots(1, len(panels), figsize=(9 * len(panels) + 4, 8), squeeze=False)
    for ax, panel in zip(axes[0], panels, strict=True):
        depot = problem.depots[problem.depot_node(panel.depot_id)]
        aspect = (
            1.0 if problem.time_unit != "min" else 1 / math.cos(math.radians(depot.location.lat))
        )
        for route in panel.routes:
            points = _path(problem, route)
            colour = colours[route.vehicle_id]
            ax.plot(
                [p.lon for p in points],
                [p.lat for p in points],
                "-",
                color=colour,
                linewidth=1.4,
                label=_legend(route, problem.time_unit),
            )
            ax.plot(
                [p.lon for p in points[1:-1]],
                [p.lat for p in points[1:-1]],
                "o",
                color=colour,
                markersize=3.5,
            )
        if panel.unassigned:
            ax.plot(
                [c.lon for c in panel.unassigned],
                [c.lat for c in panel.unassigned],
                "x",
                color="0.45",
                markersize=6,
                label=f"unassigned ({len(panel.unassigned)})",
            )
        ax.plot([depot.location.lon], [depot.location.lat], "s", color="black", markersize=10)
        ax.annotate(
            depot.name or depot.depot_id,
            (depot.location.lon, depot.location.lat),
            textcoords="offset points",
            xytext=(6, 6),
            fontsize=9,
            weight="bold",
        )
        ax.set_aspect(aspect)
        ax.set_title(depot.name or depot.depot_id)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        ax.tick_params(labelsize=7)
    fig.suptitle(title or _headline(plan, problem))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_route_html(plan: RoutePlan, problem: RoutingProblem, path: str | Path) -> Path:
    """Write a self-contained HTML page of `plan` (inline SVG, tooltips) and return the path."""
    path = Path(path)
    colours = _colours(plan)
    unit = problem.time_unit
    sections = []
    for panel in _panels(plan, problem):
        depot = problem.depots[problem.depot_node(panel.depot_id)]
        sections.append(f"<h2>{html.escape(depot.name or depot.depot_id)}</h2>")
        sections.append(_svg(plan, problem, panel, colours))
        rows = "".join(
            f"<tr><td style='color:{colours[r.vehicle_id]}'>&#9632;</td>"
            f"<td>{html.escape(r.vehicle_id)}</td><td>{len(r.visits)}</td><td>{r.tires}</td>"
            f"<td>{r.weight_kg:.0f}</td><td>{r.distance:.1f}</td>"
            f"<td>{format_time(r.departure, unit)}-{format_time(r.return_time, unit)}</td></tr>"
            for r in panel.routes
        )
        sections.append(
            "<table><tr><th></th><th>vehicle</th><th>stops</th><th>tires</th><th>kg</th>"
            f"<th>distance</th><th>time</th></tr>{rows}</table>"
        )
    missing = "".join(
        f"<tr><td>{html.escape(u.order_id)}</td><td>{html.escape(u.reason.value)}</td>"
        f"<td>{html.escape(u.detail)}</td></tr>"
        for u in plan.unassigned
    )
    if missing:
        sections.append(
            "<h2>Unassigned orders</h2><table><tr><th>order</th><th>reason</th>"
            f"<th>detail</th></tr>{missing}</table>"
        )
    headline = html.escape(_headline(plan, problem))
    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{headline}</title><style>"
        "body{font-family:sans-serif;margin:1.5em}svg{border:1px solid #ccc;background:#fafafa}"
        "table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{padding:2px 8px;"
        "border-bottom:1px solid #eee;text-align:left;font-size:13px}"
        "circle:hover,rect:hover{stroke:#000;stroke-width:2}</style></head><body>"
        f"<h1>{headline}</h1>{''.join(sections)}</body></html>"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


def _svg(plan: RoutePlan, problem: RoutingProblem, panel: _Panel, colours: dict[str, str]) -> str:
    depot = problem.depots[problem.depot_node(panel.depot_id)]
    points = [depot.location, *panel.unassigned]
    points += [p for r in panel.routes for p in _path(problem, r)]
    squeeze = 1.0 if problem.time_unit != "min" else math.cos(math.radians(depot.location.lat))
    min_x = min(p.lon for p in points) * squeeze
    max_x = max(p.lon for p in points) * squeeze
    min_y, max_y = min(p.lat for p in points), max(p.lat for p in points)
    span = max(max_x - min_x, max_y - min_y) or 1.0
    size, margin = 760.0, 20.0

    def xy(c: Coordinates) -> tuple[float, float]:
        x = margin + (c.lon * squeeze - min_x) / span * (size - 2 * margin)
        y = size - margin - (c.lat - min_y) / span * (size - 2 * margin)
        return round(x, 1), round(y, 1)

    unit = problem.time_unit
    shapes: list[str] = []
    for route in panel.routes:
        colour = colours[route.vehicle_id]
        line = " ".join(f"{x},{y}" for x, y in map(xy, _path(problem, route)))
        shapes.append(
            f"<polyline points='{line}' fill='none' stroke='{colour}' stroke-width='2'>"
            f"<title>{html.escape(_legend(route, unit))}</title></polyline>"
        )
        for visit in route.visits:
            stop = problem.stops[problem.stop_index(visit.order_id)]
            x, y = xy(stop.location)
            tip = (
                f"{visit.order_id} - {route.vehicle_id}\n"
                f"window {format_time(stop.window.start, unit)}-"
                f"{format_time(stop.window.end, unit)}\n"
                f"service {format_time(visit.service_start, unit)}-"
                f"{format_time(visit.service_end, unit)}\n"
                f"{stop.tires} tires, {stop.weight_kg:.0f} kg"
            )
            shapes.append(
                f"<circle cx='{x}' cy='{y}' r='4' fill='{colour}'>"
                f"<title>{html.escape(tip)}</title></circle>"
            )
    reasons = {u.order_id: u for u in plan.unassigned}
    for order_id, unassigned in reasons.items():
        stop = problem.stops[problem.stop_index(order_id)]
        if stop.location not in panel.unassigned:
            continue
        x, y = xy(stop.location)
        tip = (
            f"{order_id} unassigned: {unassigned.reason.value}\nwindow "
            f"{format_time(stop.window.start, unit)}-{format_time(stop.window.end, unit)}"
        )
        shapes.append(
            f"<path d='M{x - 4},{y - 4}L{x + 4},{y + 4}M{x - 4},{y + 4}L{x + 4},{y - 4}' "
            f"stroke='#777' stroke-width='2'><title>{html.escape(tip)}</title></path>"
        )
    x, y = xy(depot.location)
    shapes.append(
        f"<rect x='{x - 7}' y='{y - 7}' width='14' height='14' fill='#000'>"
        f"<title>{html.escape(depot.name or depot.depot_id)}</title></rect>"
    )
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{size:.0f}' height='{size:.0f}' "
        f"viewBox='0 0 {size:.0f} {size:.0f}'>{''.join(shapes)}</svg>"
    )


def _panels(plan: RoutePlan, problem: RoutingProblem) -> list[_Panel]:
    """One panel per depot with routes (or with nearby unassigned orders)."""
    routed = {r.depot_id for r in plan.routes}
    nearest: dict[str, list[Coordinates]] = {}
    for unassigned in plan.unassigned:
        index = problem.stop_index(unassigned.order_id)
        node = problem.stop_node(index)
        depot = min(
            range(problem.num_depots), key=lambda d: float(problem.matrix.distances[d, node])
        )
        nearest.setdefault(problem.depots[depot].depot_id, []).append(problem.stops[index].location)
    ids = [d.depot_id for d in problem.depots if d.depot_id in routed or d.depot_id in nearest]
    return [
        _Panel(d, tuple(r for r in plan.routes if r.depot_id == d), tuple(nearest.get(d, [])))
        for d in ids or [problem.depots[0].depot_id]
    ]


def _colours(plan: RoutePlan) -> dict[str, str]:
    palette = colormaps["tab20"]
    return {r.vehicle_id: to_hex(palette(i % 20)) for i, r in enumerate(plan.routes)}


def _path(problem: RoutingProblem, route: Route) -> list[Coordinates]:
    depot = problem.depots[problem.depot_node(route.depot_id)].location
    stops = [problem.stops[problem.stop_index(o)].location for o in route.order_ids]
    return [depot, *stops, depot]


def _legend(route: Route, time_unit: str) -> str:
    load = f"{route.tires} tires" + (f", {route.weight_kg:.0f} kg" if route.weight_kg else "")
    span = f"{format_time(route.departure, time_unit)}-{format_time(route.return_time, time_unit)}"
    return f"{route.vehicle_id}: {len(route.visits)} stops, {load}, {span}"


def _headline(plan: RoutePlan, problem: RoutingProblem) -> str:
    name = problem.name or "route plan"
    return (
        f"{name}: {plan.vehicles_used} vehicles, distance {plan.distance:,.1f}, "
        f"{len(plan.unassigned)} unassigned (engine {plan.engine})"
    )
