"""The second engine: PyVRP's iterated local search, on problems without driver breaks.

Identical vehicles (same depot, capacities, shift, duration limit, fixed cost) form one PyVRP
vehicle type. Stops are optional clients whose prize equals the unassigned penalty, which makes
PyVRP's objective the same as OR-Tools' (distance + fixed costs + penalties of unserved stops).
"""

from __future__ import annotations

import time

import numpy as np
import pyvrp
from pyvrp import PenaltyParams, SolveParams
from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria, StoppingCriterion

from processors.routing.model import EngineRoute, EngineSolution, IntegerModel, IntVehicle

# PyVRP caps its penalty per unit of excess load or time warp at 1e5. With distances scaled by
# 1000 that is 100 distance units per tire over capacity, less than the prize of an order: the
# search would then rather overload a truck than leave an order out, and end infeasible. The
# cap is raised (products stay far below int64 limits); the search starts from PyVRP's default.
MAX_PENALTY = 1e9


class _ScaledPenaltyParams(PenaltyParams):
    def midpoint_penalties(self, data: pyvrp.ProblemData) -> tuple[list[float], float, float]:
        return PenaltyParams().midpoint_penalties(data)


SOLVE_PARAMS = SolveParams(penalty=_ScaledPenaltyParams(max_penalty=MAX_PENALTY))


def pyvrp_supports(model: IntegerModel) -> bool:
    """PyVRP has no driver breaks."""
    return not model.has_breaks


def solve_pyvrp(
    model: IntegerModel, *, time_limit_s: float, iterations: int | None, seed: int
) -> EngineSolution:
    started = time.monotonic()
    if not pyvrp_supports(model):
        raise ValueError("PyVRP cannot model driver breaks")
    client_nodes = [n for n in range(model.num_depots, model.num_nodes) if model.servable(n)]
    types: dict[IntVehicle, list[int]] = {}
    for v, vehicle in enumerate(model.vehicles):
        if vehicle.usable:
            types.setdefault(vehicle, []).append(v)
    if not client_nodes or not types:
        return EngineSolution("pyvrp", (), time.monotonic() - started, None, "nothing_to_do")

    def load(node: int) -> list[int]:
        return [model.tires[node], model.kg[node]] if model.uses_kg else [model.tires[node]]

    data = pyvrp.ProblemData(
        locations=[pyvrp.Location(x=0.0, y=0.0) for _ in range(model.num_nodes)],
        clients=[
            pyvrp.Client(
                location=node,
                delivery=load(node),
                service_duration=model.service[node],
                tw_early=model.window_start[node],
                tw_late=model.window_end[node],
                prize=model.penalty,
                required=False,
            )
            for node in client_nodes
        ],
        depots=[pyvrp.Depot(location=node) for node in range(model.num_depots)],
        vehicle_types=[
            pyvrp.VehicleType(
                num_available=len(members),
                capacity=[v.max_tires, v.max_kg or 0] if model.uses_kg else [v.max_tires],
                start_depot=v.depot_node,
                end_depot=v.depot_node,
                fixed_cost=v.fixed_cost,
                tw_early=v.shift_start,
                tw_late=v.shift_end,
                shift_duration=v.max_span,
            )
            for v, members in types.items()
        ],
        distance_matrices=[np.ascontiguousarray(model.distance)],
        duration_matrices=[np.ascontiguousarray(model.travel)],
    )
    remaining = max(0.01, time_limit_s - (time.monotonic() - started))
    stop: StoppingCriterion = MaxRuntime(remaining)
    if iterations is not None:
        stop = MultipleCriteria([MaxIterations(iterations), MaxRuntime(remaining)])
    result = pyvrp.solve(data, stop, seed=seed, collect_stats=False, params=SOLVE_PARAMS)
    seconds = time.monotonic() - started
    stopped_by = (
        "work_limit"
        if iterations is not None and result.num_iterations >= iterations
        else "time_limit"
    )
    if not result.best.is_feasible():
        return EngineSolution("pyvrp", (), seconds, None, stopped_by, feasible=False)
    members = [list(m) for m in types.values()]
    routes: list[EngineRoute] = []
    for route in result.best.routes():
        stops = tuple(
            client_nodes[a.idx] - model.num_depots for a in route.schedule() if a.is_client()
        )
        routes.append(
            EngineRoute(
                vehicle=members[route.vehicle_type()].pop(0),
                stops=stops,
                departure=route.start_time(),
                break_before_visit=None,
            )
        )
    return EngineSolution("pyvrp", tuple(routes), seconds, None, stopped_by)
