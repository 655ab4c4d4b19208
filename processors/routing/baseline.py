"""A time-window-aware nearest-neighbour plan, the yardstick for the optimising engines.

Vehicles are filled one after another. From where the driver is, the next stop is the feasible
one whose service can start soonest (driving plus waiting), ties broken by distance. A stop is
feasible when it fits the remaining tires and kg, its window is still open on arrival, and the
driver can still get back within the shift and the route duration, break included. The driver
takes the break on the leg where postponing it would make it too late.
"""

from __future__ import annotations

from dataclasses import dataclass

from processors.routing.diagnose import explain_unassigned
from processors.routing.model import build_model
from processors.routing.plan import Route, RoutePlan
from processors.routing.problem import RoutingProblem, Vehicle
from processors.routing.schedule import build_route
from processors.routing.validate import check_plan


@dataclass(frozen=True)
class _Step:
    stop: int
    departure: float
    leave: float
    took_break: bool


def nearest_neighbour_plan(problem: RoutingProblem) -> RoutePlan:
    """A validated greedy plan; orders it cannot place are reported with their reason."""
    unrouted = list(range(len(problem.stops)))
    routes: list[Route] = []
    for vehicle in problem.vehicles:
        if not unrouted:
            break
        route = _fill(problem, vehicle, unrouted)
        if route is not None:
            routes.append(route)
            served = set(route.order_ids)
            unrouted = [i for i in unrouted if problem.stops[i].order_id not in served]
    model = build_model(problem, scale=1000, unassigned_penalty=None)
    plan = RoutePlan(
        routes=tuple(routes),
        unassigned=tuple(explain_unassigned(problem, model, i) for i in unrouted),
        engine="nearest-neighbour",
    )
    check_plan(problem, plan)
    return plan


def _fill(problem: RoutingProblem, vehicle: Vehicle, candidates: list[int]) -> Route | None:
    durations = problem.matrix.durations
    distances = problem.matrix.distances
    depot = problem.depot_node(vehicle.depot_id)
    brk = vehicle.driver_break
    sequence: list[int] = []
    departure = vehicle.shift.start
    node, leave, tires, kg = depot, departure, 0, 0.0
    break_leg: int | None = None
    remaining = set(candidates)
    while True:
        best: tuple[float, float, _Step] | None = None
        for index in remaining:
            stop = problem.stops[index]
            if tires + stop.tires > vehicle.max_tires:
                continue
            if vehicle.max_kg is not None and kg + stop.weight_kg > vehicle.max_kg:
                continue
            target = problem.stop_node(index)
            drive = float(durations[node, target])
            start_at = leave if sequence else max(departure, stop.window.start - drive)
            step = _try(
                vehicle,
                stop.window.start,
                stop.service_time,
                start_at,
                drive,
                pending=brk is not None and break_leg is None,
            )
            if step is None or step[0] > stop.window.end:
                continue
            service_start, after, took_break = step
            pending = brk is not None and break_leg is None and not took_break
            back = _return_time(vehicle, after, float(durations[target, depot]), pending)
            route_start = start_at if not sequence else departure
            if back is None or back > vehicle.shift.end:
                continue
            if back - route_start > vehicle.route_duration_limit:
                continue
            key = (service_start - start_at, float(distances[node, target]))
            if best is None or key < best[:2]:
                best = (*key, _Step(index, route_start, after, took_break))
        if best is None:
            break
        step = best[2]
        if step.took_break:
            break_leg = len(sequence)
        sequence.append(step.stop)
        remaining.discard(step.stop)
        departure, leave = step.departure, step.leave
        node = problem.stop_node(step.stop)
        tires += problem.stops[step.stop].tires
        kg += problem.stops[step.stop].weight_kg
    if not sequence:
        return None
    if brk is not None and break_leg is None:
        break_leg = len(sequence)
    return build_route(problem, vehicle, sequence, departure, break_leg)


def _try(
    vehicle: Vehicle, opens: float, service: float, leave: float, drive: float, pending: bool
) -> tuple[float, float, bool] | None:
    """(service start, departure, break taken on this leg) for going to a stop next."""
    service_start = max(leave + drive, opens)
    brk = vehicle.driver_break
    if not pending or brk is None or service_start + service <= brk.latest_start:
        return service_start, service_start + service, False
    start = max(leave, brk.earliest_start)
    if start > brk.latest_start:
        return None
    service_start = max(max(leave + drive, start) + brk.duration, opens)
    return service_start, service_start + service, True


def _return_time(vehicle: Vehicle, leave: float, drive: float, pending: bool) -> float | None:
    brk = vehicle.driver_break
    if not pending or brk is None:
        return leave + drive
    start = max(leave, brk.earliest_start)
    if start > brk.latest_start:
        return None
    return max(leave + drive, start) + brk.duration
