"""Why an order is not on any route: the first reason that holds, from the hardest facts
(it fits no vehicle, its window misses every shift) to the softest (the fleet is full)."""

from __future__ import annotations

from processors.routing.model import IntegerModel
from processors.routing.plan import UnassignedOrder, UnassignedReason
from processors.routing.problem import RoutingProblem, TimeWindow
from processors.routing.reach import fits_in_time


def explain_unassigned(
    problem: RoutingProblem, model: IntegerModel, stop_index: int
) -> UnassignedOrder:
    """The reason `problem.stops[stop_index]` could not be (or was not) routed."""
    stop = problem.stops[stop_index]
    vehicles = [v for v, iv in zip(problem.vehicles, model.vehicles, strict=True) if iv.usable]

    def out(reason: UnassignedReason, detail: str) -> UnassignedOrder:
        return UnassignedOrder(stop.order_id, reason, detail)

    if not model.window_fits_scale(problem.stop_node(stop_index)):
        return out(UnassignedReason.WINDOW_TOO_NARROW, f"window {_span(stop.window)}")
    largest = max((v.max_tires for v in vehicles), default=0)
    if stop.tires > largest:
        return out(
            UnassignedReason.TOO_MANY_TIRES,
            f"{stop.tires} tires; the largest vehicle carries {largest}",
        )
    limits = [v.max_kg for v in vehicles]
    if limits and None not in limits:
        heaviest = max(kg for kg in limits if kg is not None)
        if stop.weight_kg > heaviest:
            return out(
                UnassignedReason.TOO_HEAVY,
                f"{stop.weight_kg:g} kg; the largest vehicle carries {heaviest:g} kg",
            )
    first_start = min((v.shift.start for v in vehicles), default=stop.window.end)
    if stop.window.end < first_start:
        return out(
            UnassignedReason.WINDOW_BEFORE_SHIFTS,
            f"window {_span(stop.window)}; the earliest shift starts at {first_start:g}",
        )
    last_end = max((v.shift.end for v in vehicles), default=stop.window.start)
    if stop.window.start > last_end:
        return out(
            UnassignedReason.WINDOW_AFTER_SHIFTS,
            f"window {_span(stop.window)}; the latest shift ends at {last_end:g}",
        )
    fitting = [
        v
        for v in vehicles
        if stop.tires <= v.max_tires and (v.max_kg is None or stop.weight_kg <= v.max_kg)
    ]
    if not any(fits_in_time(problem, v, stop_index) for v in fitting):
        return out(
            UnassignedReason.UNREACHABLE,
            "no vehicle that can carry it can drive there, serve it in its window and be back "
            "within its shift and route duration",
        )
    return out(
        UnassignedReason.NO_CAPACITY_LEFT,
        "a vehicle could serve it alone, but the fleet has no tires, kg or hours left for it",
    )


def _span(window: TimeWindow) -> str:
    return f"{window.start:g}-{window.end:g}"
