"""An independent check of a plan in floating point, against the problem data.

It does not recompute a schedule: it checks that the times written in the plan satisfy every
constraint (capacity, windows, shift, route duration, break, travel times), that distances add
up, and that every order is either on exactly one route or reported unassigned with a reason.
Every plan a planner returns passes it.
"""

from __future__ import annotations

from collections import Counter

from processors.routing.plan import Route, RoutePlan
from processors.routing.problem import RoutingProblem

EPS = 1e-6


class InvalidPlan(AssertionError):
    """A plan broke a constraint; the message lists every violation found."""


def route_violations(problem: RoutingProblem, route: Route) -> list[str]:
    """Everything wrong with one route, as readable sentences (empty when the route is valid)."""
    vehicle = problem.vehicle(route.vehicle_id)
    if vehicle is None:
        return [f"route for unknown vehicle {route.vehicle_id}"]
    tag = f"vehicle {vehicle.vehicle_id}"
    if route.depot_id != vehicle.depot_id:
        return [f"{tag}: route starts at {route.depot_id}, vehicle belongs to {vehicle.depot_id}"]
    unknown = [v.order_id for v in route.visits if not problem.has_order(v.order_id)]
    if unknown:
        return [f"{tag}: unknown orders {unknown}"]
    if not route.visits:
        return [f"{tag}: empty route"]
    stops = [problem.stops[problem.stop_index(v.order_id)] for v in route.visits]
    errors: list[str] = []

    tires = sum(s.tires for s in stops)
    weight = sum(s.weight_kg for s in stops)
    if tires != route.tires or abs(weight - route.weight_kg) > EPS * max(1.0, weight):
        errors.append(f"{tag}: load totals do not match its orders")
    if tires > vehicle.max_tires:
        errors.append(f"{tag}: {tires} tires over capacity {vehicle.max_tires}")
    if vehicle.max_kg is not None and weight > vehicle.max_kg + EPS:
        errors.append(f"{tag}: {weight:.1f} kg over capacity {vehicle.max_kg}")

    brk, slot = vehicle.driver_break, route.driver_break
    if (brk is None) != (slot is None):
        errors.append(f"{tag}: driver break missing or unexpected")
    if brk is not None and slot is not None:
        if not 0 <= slot.before_visit <= len(stops):
            errors.append(f"{tag}: break on a leg that does not exist")
        if slot.start < brk.earliest_start - EPS or slot.start > brk.latest_start + EPS:
            errors.append(f"{tag}: break starts at {slot.start:.3f} outside its window")
        if abs(slot.end - slot.start - brk.duration) > EPS:
            errors.append(f"{tag}: break lasts {slot.end - slot.start:.3f}, not {brk.duration}")

    if route.departure < vehicle.shift.start - EPS:
        errors.append(f"{tag}: leaves at {route.departure:.3f} before its shift")
    durations = problem.matrix.durations
    depot = problem.depot_node(vehicle.depot_id)
    nodes = [problem.stop_node(problem.stop_index(v.order_id)) for v in route.visits]
    origin, leave = depot, route.departure
    readies = [v.arrival for v in route.visits] + [route.return_time]
    for position, (target, ready) in enumerate(zip([*nodes, depot], readies, strict=True)):
        needed = leave + float(durations[origin, target])
        if slot is not None and slot.before_visit == position:
            needed += slot.end - slot.start
            if slot.start < leave - EPS or ready < slot.end - EPS:
                errors.append(f"{tag}: break does not fit between stops {position - 1}-{position}")
        if ready < needed - EPS:
            errors.append(f"{tag}: leg {position} takes {needed - leave:.3f}, planned shorter")
        if position < len(stops):
            visit, stop = route.visits[position], stops[position]
            if visit.service_start < max(visit.arrival, stop.window.start) - EPS:
                errors.append(f"{tag}: order {stop.order_id} served before arrival or window")
            if visit.service_start > stop.window.end + EPS:
                errors.append(
                    f"{tag}: order {stop.order_id} served at {visit.service_start:.3f}, "
                    f"window closes {stop.window.end}"
                )
            if visit.service_end < visit.service_start + stop.service_time - EPS:
                errors.append(f"{tag}: order {stop.order_id} service too short")
            origin, leave = target, visit.service_end

    if route.return_time > vehicle.shift.end + EPS:
        errors.append(f"{tag}: back at {route.return_time:.3f} after shift end {vehicle.shift.end}")
    if route.return_time - route.departure > vehicle.route_duration_limit + EPS:
        errors.append(f"{tag}: route lasts {route.return_time - route.departure:.3f}, over limit")

    distances = problem.matrix.distances
    path = [depot, *nodes, depot]
    distance = float(sum(distances[a, b] for a, b in zip(path, path[1:], strict=False)))
    if abs(distance - route.distance) > EPS * max(1.0, distance):
        errors.append(f"{tag}: distance {route.distance:.3f} should be {distance:.3f}")
    return errors


def plan_violations(problem: RoutingProblem, plan: RoutePlan) -> list[str]:
    """Everything wrong with a plan (empty when valid)."""
    errors: list[str] = []
    used = Counter(r.vehicle_id for r in plan.routes)
    errors += [f"vehicle {v} has {n} routes" for v, n in used.items() if n > 1]
    for route in plan.routes:
        errors += route_violations(problem, route)
    seen = Counter(o for r in plan.routes for o in r.order_ids)
    seen.update(u.order_id for u in plan.unassigned)
    for stop in problem.stops:
        if seen[stop.order_id] == 0:
            errors.append(f"order {stop.order_id} is neither routed nor reported unassigned")
        elif seen[stop.order_id] > 1:
            errors.append(f"order {stop.order_id} appears {seen[stop.order_id]} times")
    extra = {o for o in seen if not problem.has_order(o)}
    if extra:
        errors.append(f"plan mentions unknown orders {sorted(extra)}")
    return errors


def check_plan(problem: RoutingProblem, plan: RoutePlan) -> None:
    """Raise `InvalidPlan` listing every violation, or return quietly."""
    errors = plan_violations(problem, plan)
    if errors:
        raise InvalidPlan("; ".join(errors))
