"""Re-plan after the day changed (an order cancelled, added or edited), changing only what must.

Drivers and customers have already been told who comes; moving an order to another truck costs
a phone call. So OR-Tools starts from the previous routes (minus orders that are gone) and every
order that ends up on a different vehicle than before is charged `reassignment_penalty`. New
orders are inserted where they fit; an order moves only when that serves more orders or saves
more distance than the penalty.
"""

from __future__ import annotations

import time

import numpy as np

from processors.routing.model import build_model
from processors.routing.ortools_engine import solve_ortools
from processors.routing.plan import RoutePlan
from processors.routing.planner import choose_plan, search_seconds
from processors.routing.problem import RoutingProblem
from processors.routing.solver_settings import SolverSettings


def replan(
    previous: RoutePlan,
    problem: RoutingProblem,
    settings: SolverSettings | None = None,
    *,
    reassignment_penalty: float | None = None,
) -> RoutePlan:
    """A validated plan for `problem` that keeps `previous` assignments where possible.

    `reassignment_penalty` is in distance units; by default twice the longest leg in the
    travel matrix, so an order moves only when it has to.
    """
    settings = settings or SolverSettings()
    started = time.monotonic()
    model = build_model(problem, settings.scale, settings.unassigned_penalty)
    if reassignment_penalty is None:
        finite = problem.matrix.distances[np.isfinite(problem.matrix.distances)]
        reassignment_penalty = 2 * float(finite.max()) if finite.size else 0.0
    owner: dict[int, int] = {}
    warm_start: list[list[int]] = [[] for _ in problem.vehicles]
    for route in previous.routes:
        vehicle = problem.vehicle(route.vehicle_id)
        if vehicle is None:
            continue
        v = problem.vehicle_index(vehicle.vehicle_id)
        for order_id in route.order_ids:
            if not problem.has_order(order_id):
                continue
            node = problem.stop_node(problem.stop_index(order_id))
            owner[node] = v
            if model.servable(node) and v in model.allowed[node]:
                warm_start[v].append(node)
    solution = solve_ortools(
        model,
        time_limit_s=search_seconds(settings.time_limit_s) - (time.monotonic() - started),
        solution_limit=settings.ortools_solution_limit,
        warm_start=warm_start,
        previous_vehicle=owner,
        reassignment_cost=round(reassignment_penalty * settings.scale),
    )
    return choose_plan(problem, model, [solution], [])
