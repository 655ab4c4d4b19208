"""Which vehicles could serve a stop on a route of its own (depot -> stop -> depot).

A stop no vehicle can serve alone can never be routed, so it is left out of the search and
reported with its reason; a stop is offered only to the vehicles that could serve it alone,
which for branches far apart keeps each branch's orders on its own trucks.
"""

from __future__ import annotations

from processors.routing.problem import RoutingProblem, Stop, Vehicle


def serves_alone(problem: RoutingProblem, vehicle: Vehicle, stop_index: int) -> bool:
    """Whether `vehicle` can carry the stop's load, reach it within its window and be back
    within its shift and route duration, taking its break on the way out or back."""
    stop = problem.stops[stop_index]
    if stop.tires > vehicle.max_tires:
        return False
    if vehicle.max_kg is not None and stop.weight_kg > vehicle.max_kg:
        return False
    return fits_in_time(problem, vehicle, stop_index)


def fits_in_time(problem: RoutingProblem, vehicle: Vehicle, stop_index: int) -> bool:
    """The time part of `serves_alone`, whatever the load."""
    stop = problem.stops[stop_index]
    depot, node = problem.depot_node(vehicle.depot_id), problem.stop_node(stop_index)
    out = float(problem.matrix.durations[depot, node])
    back = float(problem.matrix.durations[node, depot])
    shift = vehicle.shift
    brk = vehicle.driver_break
    # Leave as late as possible without starting service later than necessary.
    departure = max(shift.start, stop.window.start - out)
    service_start = max(departure + out, stop.window.start)
    if brk is None:
        return _back_in_time(vehicle, stop, departure, service_start, back)
    # Break on the way back.
    leave = service_start + stop.service_time
    pause = max(leave, brk.earliest_start)
    if pause <= brk.latest_start and service_start <= stop.window.end:
        end = max(leave + back, pause) + brk.duration
        if end <= shift.end and end - departure <= vehicle.route_duration_limit:
            return True
    # Break on the way out, for the departures where the answer can change.
    for departure in (
        shift.start,
        stop.window.start - out - brk.duration,
        brk.earliest_start - out,
        brk.earliest_start,
    ):
        if not shift.start <= departure <= shift.end:
            continue
        pause = max(departure, brk.earliest_start)
        if pause > brk.latest_start:
            continue
        arrival = max(departure + out, pause) + brk.duration
        if _back_in_time(vehicle, stop, departure, max(arrival, stop.window.start), back):
            return True
    return False


def _back_in_time(
    vehicle: Vehicle, stop: Stop, departure: float, service_start: float, back: float
) -> bool:
    end = service_start + stop.service_time + back
    return (
        service_start <= stop.window.end
        and end <= vehicle.shift.end
        and end - departure <= vehicle.route_duration_limit
    )


def reachable_vehicles(problem: RoutingProblem) -> tuple[tuple[int, ...], ...]:
    """Per stop, the indices of the vehicles that could serve it alone."""
    cache: dict[tuple[object, int], bool] = {}
    result: list[tuple[int, ...]] = []
    for index in range(len(problem.stops)):
        allowed: list[int] = []
        for v, vehicle in enumerate(problem.vehicles):
            key = (_profile(vehicle), index)
            if key not in cache:
                cache[key] = serves_alone(problem, vehicle, index)
            if cache[key]:
                allowed.append(v)
        result.append(tuple(allowed))
    return tuple(result)


def _profile(vehicle: Vehicle) -> object:
    """What decides `serves_alone`: everything but the vehicle's name and fixed cost."""
    return (
        vehicle.depot_id,
        vehicle.max_tires,
        vehicle.max_kg,
        vehicle.shift,
        vehicle.route_duration_limit,
        vehicle.driver_break,
    )
