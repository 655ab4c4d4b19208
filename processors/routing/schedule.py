"""Turn a visiting order into clock times: leave, drive, wait for the window, serve, return.

Times are the earliest possible from the given departure. A break on a leg starts as soon as it
may (after leaving the previous stop and not before its earliest start); driving done before
the break window opens counts, so the next arrival is max(leave + drive, break start) + break.
"""

from __future__ import annotations

from collections.abc import Sequence

from processors.routing.plan import BreakSlot, Route, Visit
from processors.routing.problem import RoutingProblem, Vehicle


def build_route(
    problem: RoutingProblem,
    vehicle: Vehicle,
    stop_indices: Sequence[int],
    departure: float,
    break_before_visit: int | None,
) -> Route:
    """The route of `vehicle` visiting `stop_indices` (positions in `problem.stops`) in order.

    `break_before_visit` places the driver break on the leg ending at that visit number; it must
    be given exactly when the vehicle has a break.
    """
    brk = vehicle.driver_break
    if (brk is None) != (break_before_visit is None):
        raise ValueError(f"vehicle {vehicle.vehicle_id}: break position does not match its break")
    durations = problem.matrix.durations
    distances = problem.matrix.distances
    depot = problem.depot_node(vehicle.depot_id)
    nodes = [problem.stop_node(i) for i in stop_indices]
    visits: list[Visit] = []
    slot: BreakSlot | None = None

    def ready_at(position: int, origin: int, target: int, leave: float) -> float:
        nonlocal slot
        arrival = leave + float(durations[origin, target])
        if brk is not None and position == break_before_visit:
            start = max(leave, brk.earliest_start)
            slot = BreakSlot(position, start, start + brk.duration)
            arrival = max(arrival, start) + brk.duration
        return arrival

    origin, leave = depot, departure
    for position, (index, node) in enumerate(zip(stop_indices, nodes, strict=True)):
        stop = problem.stops[index]
        arrival = ready_at(position, origin, node, leave)
        service_start = max(arrival, stop.window.start)
        leave = service_start + stop.service_time
        visits.append(Visit(stop.order_id, arrival, service_start, leave))
        origin = node
    return_time = ready_at(len(nodes), origin, depot, leave)
    path = [depot, *nodes, depot]
    distance = float(sum(distances[a, b] for a, b in zip(path, path[1:], strict=False)))
    return Route(
        vehicle_id=vehicle.vehicle_id,
        depot_id=vehicle.depot_id,
        departure=departure,
        return_time=return_time,
        visits=tuple(visits),
        driver_break=slot,
        distance=distance,
        tires=sum(problem.stops[i].tires for i in stop_indices),
        weight_kg=sum(problem.stops[i].weight_kg for i in stop_indices),
    )
