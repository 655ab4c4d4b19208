"""The named engine: OR-Tools routing (CP model + guided local search).

Model: arc cost = scaled distance (+ fixed cost per used vehicle); capacity dimensions for tires
and (when any vehicle has a weight limit) tenths of kg; a time dimension whose transit is the
origin's service time plus the driving time, with windows on stops, shifts on vehicle starts and
ends, a span limit for the maximum route duration and one break interval per driver. Every stop
is optional with a penalty, so a tight day still returns a partial plan, and is offered only to
the vehicles that could serve it alone (for far-apart branches: its own branch's trucks).
OR-Tools' search has no random seed: with a solution limit and no time cut it is deterministic.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2, routing_parameters_pb2

from processors.routing.model import EngineRoute, EngineSolution, IntegerModel

FIRST_SOLUTION = {
    "ortools": routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION,
    "ortools-lci": routing_enums_pb2.FirstSolutionStrategy.LOCAL_CHEAPEST_INSERTION,
}


def solve_ortools(
    model: IntegerModel,
    *,
    time_limit_s: float,
    solution_limit: int | None = None,
    engine: str = "ortools",
    first_solution_only: bool = False,
    warm_start: Sequence[Sequence[int]] | None = None,
    previous_vehicle: Mapping[int, int] | None = None,
    reassignment_cost: int = 0,
) -> EngineSolution:
    """Solve `model`.

    `warm_start` gives, per vehicle, the nodes of a previous plan to start from;
    `previous_vehicle` (node -> vehicle) with `reassignment_cost` charges moving an already
    notified stop to another vehicle.
    """
    started = time.monotonic()
    depots = [v.depot_node for v in model.vehicles]
    manager = pywrapcp.RoutingIndexManager(model.num_nodes, len(depots), depots, depots)
    routing = pywrapcp.RoutingModel(manager)
    _set_costs(routing, model, previous_vehicle or {}, reassignment_cost)
    _add_loads(routing, model)
    clock = _add_clock(routing, model)
    _add_visits(routing, manager, model, clock)
    _add_shifts(routing, manager, model, clock)
    params = _search_parameters(model, engine, first_solution_only, solution_limit)
    remaining = time_limit_s - (time.monotonic() - started)
    params.time_limit.FromMilliseconds(max(1, int(remaining * 1000)))

    found: list[float] = []
    routing.AddAtSolutionCallback(lambda: found.append(time.monotonic() - started))
    routing.CloseModelWithParameters(params)
    solution = None
    if warm_start is not None:
        initial = routing.ReadAssignmentFromRoutes(
            [[manager.NodeToIndex(n) for n in route] for route in warm_start], True
        )
        if initial is not None:
            solution = routing.SolveFromAssignmentWithParameters(initial, params)
    if solution is None:
        solution = routing.SolveWithParameters(params)
    seconds = time.monotonic() - started
    if first_solution_only:
        stopped_by = "first_solution"
    elif solution_limit is not None and len(found) >= solution_limit:
        stopped_by = "work_limit"
    else:
        stopped_by = "time_limit"
    if solution is None:
        return EngineSolution(engine, (), seconds, None, stopped_by, feasible=False)
    routes = _read_routes(routing, manager, model, solution, clock)
    return EngineSolution(engine, routes, seconds, found[0] if found else seconds, stopped_by)


def _add_loads(routing: pywrapcp.RoutingModel, model: IntegerModel) -> None:
    """Each vehicle's capacity in tires, and in kilograms when the model has weights."""
    vehicles = model.vehicles
    tires = routing.RegisterUnaryTransitVector(list(model.tires))
    routing.AddDimensionWithVehicleCapacity(
        tires, 0, [v.max_tires for v in vehicles], True, "tires"
    )
    if model.uses_kg:
        kg = routing.RegisterUnaryTransitVector(list(model.kg))
        routing.AddDimensionWithVehicleCapacity(
            kg, 0, [v.max_kg or 0 for v in vehicles], True, "kg"
        )


def _add_clock(routing: pywrapcp.RoutingModel, model: IntegerModel) -> pywrapcp.RoutingDimension:
    """The time dimension: travel plus the service time at the stop left."""
    service = np.asarray(model.service, dtype=np.int64)
    transit = routing.RegisterTransitMatrix((model.travel + service[:, None]).tolist())
    routing.AddDimension(transit, model.horizon, model.horizon, False, "time")
    return routing.GetDimensionOrDie("time")


def _add_visits(routing: pywrapcp.RoutingModel, manager: pywrapcp.RoutingIndexManager,
                model: IntegerModel, clock: pywrapcp.RoutingDimension) -> None:
    """Every stop may be dropped at the model's penalty; a stop no vehicle can serve, and a
    depot no vehicle starts from, stays unvisited; a served stop keeps its time window and the
    vehicles allowed to carry it."""
    solver = routing.solver()
    used_depots = {v.depot_node for v in model.vehicles}
    for node in range(model.num_nodes):
        if node < model.num_depots and node in used_depots:
            continue
        index = manager.NodeToIndex(node)
        routing.AddDisjunction([index], model.penalty if node >= model.num_depots else 0)
        if node < model.num_depots or not model.servable(node):
            solver.Add(routing.ActiveVar(index) == 0)
        else:
            clock.CumulVar(index).SetRange(model.window_start[node], model.window_end[node])
            if len(model.allowed[node]) < len(model.vehicles):
                routing.VehicleVar(index).SetValues([-1, *model.allowed[node]])


def _add_shifts(routing: pywrapcp.RoutingModel, manager: pywrapcp.RoutingIndexManager,
                model: IntegerModel, clock: pywrapcp.RoutingDimension) -> None:
    """Each usable vehicle's shift, longest route, fixed cost and driver's break; an unusable
    vehicle stays at its depot."""
    solver = routing.solver()
    visit_transits = [model.service[manager.IndexToNode(i)] for i in range(routing.Size())]
    for v, vehicle in enumerate(model.vehicles):
        start, end = routing.Start(v), routing.End(v)
        if not vehicle.usable:
            solver.Add(routing.NextVar(start) == end)
            continue
        clock.CumulVar(start).SetRange(vehicle.shift_start, vehicle.shift_end)
        clock.CumulVar(end).SetRange(vehicle.shift_start, vehicle.shift_end)
        if vehicle.max_span < vehicle.shift_end - vehicle.shift_start:
            clock.SetSpanUpperBoundForVehicle(vehicle.max_span, v)
        routing.SetFixedCostOfVehicle(vehicle.fixed_cost, v)
        if vehicle.break_earliest is not None and vehicle.break_latest is not None:
            interval = solver.FixedDurationIntervalVar(
                vehicle.break_earliest,
                vehicle.break_latest,
                vehicle.break_duration,
                False,
                f"break {v}",
            )
            clock.SetBreakIntervalsOfVehicle([interval], v, visit_transits)
            # OR-Tools lets a break fall before departure or after return; the driver's break
            # belongs to the route (it counts towards the route duration).
            solver.Add(interval.StartExpr() >= clock.CumulVar(start))
            solver.Add(interval.EndExpr() <= clock.CumulVar(end))
        routing.AddVariableMaximizedByFinalizer(clock.CumulVar(start))
        routing.AddVariableMinimizedByFinalizer(clock.CumulVar(end))


def _search_parameters(model: IntegerModel, engine: str, first_solution_only: bool,
                       solution_limit: int | None
                       ) -> routing_parameters_pb2.RoutingSearchParameters:
    """The search: the engine's first-solution strategy, then guided local search up to
    `solution_limit` solutions (or only the first solution). The time limit is the caller's."""
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = FIRST_SOLUTION[engine]
    if first_solution_only:
        params.solution_limit = 1
    else:
        params.local_search_metaheuristic = (
            routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
        )
        if solution_limit is not None:
            params.solution_limit = solution_limit
    if model.has_breaks:
        # With breaks and a duration limit, OR-Tools schedules candidate routes with a MIP
        # (CP-SAT) and the search slows down several times (one branch of the realistic day:
        # 1138 km with it, 1050 km without, after 10 s). CP propagation still enforces every
        # constraint, and the validator re-checks the result.
        params.disable_scheduling_beware_this_may_degrade_performance = True
    return params


def _set_costs(
    routing: pywrapcp.RoutingModel,
    model: IntegerModel,
    previous_vehicle: Mapping[int, int],
    reassignment_cost: int,
) -> None:
    if not previous_vehicle or reassignment_cost <= 0:
        routing.SetArcCostEvaluatorOfAllVehicles(
            routing.RegisterTransitMatrix(model.distance.tolist())
        )
        return
    owner = np.full(model.num_nodes, -1, dtype=np.int64)
    for node, vehicle in previous_vehicle.items():
        owner[node] = vehicle
    registered: dict[bytes, int] = {}
    for v in range(len(model.vehicles)):
        moved = ((owner >= 0) & (owner != v)).astype(np.int64) * reassignment_cost
        key = moved.tobytes()
        if key not in registered:
            costs = model.distance + moved[None, :]
            registered[key] = routing.RegisterTransitMatrix(costs.tolist())
        routing.SetArcCostEvaluatorOfVehicle(registered[key], v)


def _read_routes(
    routing: pywrapcp.RoutingModel,
    manager: pywrapcp.RoutingIndexManager,
    model: IntegerModel,
    solution: pywrapcp.Assignment,
    clock: pywrapcp.RoutingDimension,
) -> tuple[EngineRoute, ...]:
    break_start: dict[int, int] = {}
    intervals = solution.IntervalVarContainer()
    for i in range(intervals.Size()):
        element = intervals.Element(i)
        name = element.Var().Name()
        if name.startswith("break "):
            break_start[int(name.split()[1])] = element.StartValue()
    routes: list[EngineRoute] = []
    for v, vehicle in enumerate(model.vehicles):
        index = solution.Value(routing.NextVar(routing.Start(v)))
        nodes: list[int] = []
        cumuls = [solution.Value(clock.CumulVar(routing.Start(v)))]
        while not routing.IsEnd(index):
            nodes.append(manager.IndexToNode(index))
            cumuls.append(solution.Value(clock.CumulVar(index)))
            index = solution.Value(routing.NextVar(index))
        if not nodes:
            continue
        cumuls.append(solution.Value(clock.CumulVar(index)))
        leg = None
        if v in break_start:
            services = [model.service[n] for n in nodes]
            leaves = [cumuls[0]] + [c + t for c, t in zip(cumuls[1:-1], services, strict=True)]
            leg = _break_leg(break_start[v], vehicle.break_duration, leaves, cumuls[1:])
        routes.append(
            EngineRoute(
                vehicle=v,
                stops=tuple(n - model.num_depots for n in nodes),
                departure=cumuls[0],
                break_before_visit=leg,
            )
        )
    return tuple(routes)


def _break_leg(start: int, duration: int, leaves: list[int], readies: list[int]) -> int:
    """The leg (numbered by the visit it ends at) that holds a break starting at `start`."""
    for leg, (leave, ready) in enumerate(zip(leaves, readies, strict=True)):
        if leave <= start and start + duration <= ready:
            return leg
    started = [leg for leg, leave in enumerate(leaves) if leave <= start]
    return started[-1] if started else 0
