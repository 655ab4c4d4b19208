"""The integer model both engines solve, and what an engine hands back.

Rounding is always on the safe side, so an integer-feasible plan is feasible in floating point:
travel and service times are rounded up, windows and shifts are narrowed inwards, demands are
rounded up and capacities down. Distances (the cost) are rounded to the nearest unit after
scaling; reported distances are recomputed in floating point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from processors.routing.problem import RoutingProblem
from processors.routing.reach import reachable_vehicles

IntArray = npt.NDArray[np.int64]

KG_RESOLUTION = 10  # weights are modelled in tenths of a kilogram
# Default cost of leaving an order out, the same for every order: this many times the cost of
# serving the most expensive order alone with its cheapest vehicle (round trip plus fixed cost).
# Far above any realistic detour, so orders are left out only when they do not fit. It is the
# same for all orders because OR-Tools' insertion heuristics insert high-penalty orders first
# (per-order penalties left far more orders out of the first plan), and it is not larger
# because OR-Tools' guided local search and PyVRP's penalty manager scale to the objective.
UNASSIGNED_PENALTY_FACTOR = 10


def scale_up(value: float, scale: int) -> int:
    """`value * scale` rounded up, ignoring float noise (12.3 * 10 is 123, not 124)."""
    return math.ceil(value * scale - 1e-6)


def scale_down(value: float, scale: int) -> int:
    """`value * scale` rounded down, ignoring float noise."""
    return math.floor(value * scale + 1e-6)


@dataclass(frozen=True)
class IntVehicle:
    depot_node: int
    max_tires: int
    max_kg: int | None
    shift_start: int
    shift_end: int
    max_span: int
    break_earliest: int | None
    break_latest: int | None
    break_duration: int
    fixed_cost: int

    @property
    def usable(self) -> bool:
        """False when rounding left an empty shift or break window (a shift shorter than one
        scaled unit): the engines then keep the vehicle at its depot."""
        if self.shift_start > self.shift_end:
            return False
        if self.break_earliest is None or self.break_latest is None:
            return True
        return self.break_earliest <= self.break_latest


@dataclass(frozen=True, eq=False)
class IntegerModel:
    """Nodes as in the problem (depots first). Per node: service time, tires, tenths of kg,
    window, and the vehicles allowed to serve it (those that could serve it alone); `distance`
    is the arc cost, `travel` the driving time (without service); `penalty` is the cost of
    leaving any order out."""

    scale: int
    num_depots: int
    distance: IntArray
    travel: IntArray
    service: tuple[int, ...]
    tires: tuple[int, ...]
    kg: tuple[int, ...]
    window_start: tuple[int, ...]
    window_end: tuple[int, ...]
    vehicles: tuple[IntVehicle, ...]
    horizon: int
    penalty: int
    uses_kg: bool
    allowed: tuple[tuple[int, ...], ...]

    def window_fits_scale(self, node: int) -> bool:
        """False for a window narrower than one scaled unit that contains no whole unit."""
        return self.window_start[node] <= self.window_end[node]

    def servable(self, node: int) -> bool:
        """Whether the engines should consider the stop at all."""
        return self.window_fits_scale(node) and bool(self.allowed[node])

    @property
    def num_nodes(self) -> int:
        return int(self.distance.shape[0])

    @property
    def has_breaks(self) -> bool:
        return any(v.break_earliest is not None for v in self.vehicles)


def build_model(
    problem: RoutingProblem, scale: int, unassigned_penalty: float | None
) -> IntegerModel:
    """Scale and round `problem` for the engines."""
    depots = problem.num_depots
    shift_ends = [v.shift.end for v in problem.vehicles]
    window_ends = [s.window.end for s in problem.stops]
    horizon = scale_up(max([*shift_ends, *window_ends, 0.0]), scale) + 1

    raw_distance = problem.matrix.distances * scale
    finite = np.isfinite(raw_distance)
    longest = float(raw_distance[finite].max()) if finite.any() else 1.0
    distance = np.where(finite, np.rint(np.where(finite, raw_distance, 0.0)), 10 * longest + 1)
    raw_travel = problem.matrix.durations * scale
    reachable = np.isfinite(raw_travel)
    travel = np.where(reachable, np.ceil(np.where(reachable, raw_travel, 0.0) - 1e-6), horizon + 1)
    np.fill_diagonal(travel, 0)
    np.fill_diagonal(distance, 0)

    uses_kg = any(v.max_kg is not None for v in problem.vehicles)
    total_kg = sum(scale_up(s.weight_kg, KG_RESOLUTION) for s in problem.stops)
    vehicles = tuple(
        IntVehicle(
            depot_node=problem.depot_node(v.depot_id),
            max_tires=v.max_tires,
            max_kg=None if v.max_kg is None else scale_down(v.max_kg, KG_RESOLUTION),
            shift_start=scale_up(v.shift.start, scale),
            shift_end=scale_down(v.shift.end, scale),
            max_span=scale_down(v.route_duration_limit, scale),
            break_earliest=None
            if v.driver_break is None
            else scale_up(v.driver_break.earliest_start, scale),
            break_latest=None
            if v.driver_break is None
            else scale_down(v.driver_break.latest_start, scale),
            break_duration=0
            if v.driver_break is None
            else scale_up(v.driver_break.duration, scale),
            fixed_cost=round(v.fixed_cost * scale),
        )
        for v in problem.vehicles
    )
    reach = reachable_vehicles(problem)
    allowed = ((),) * depots + tuple(tuple(v for v in vs if vehicles[v].usable) for vs in reach)
    penalty = _penalty(distance, vehicles, allowed, unassigned_penalty, scale)
    return IntegerModel(
        scale=scale,
        num_depots=depots,
        distance=distance.astype(np.int64),
        travel=travel.astype(np.int64),
        service=(0,) * depots + tuple(scale_up(s.service_time, scale) for s in problem.stops),
        tires=(0,) * depots + tuple(s.tires for s in problem.stops),
        kg=(0,) * depots + tuple(scale_up(s.weight_kg, KG_RESOLUTION) for s in problem.stops),
        window_start=(0,) * depots + tuple(scale_up(s.window.start, scale) for s in problem.stops),
        window_end=(horizon,) * depots
        + tuple(min(horizon, scale_down(s.window.end, scale)) for s in problem.stops),
        vehicles=tuple(
            v if v.max_kg is not None or not uses_kg else _unlimited_kg(v, total_kg)
            for v in vehicles
        ),
        horizon=horizon,
        penalty=penalty,
        uses_kg=uses_kg,
        allowed=allowed,
    )


def _penalty(
    distance: npt.NDArray[np.float64],
    vehicles: tuple[IntVehicle, ...],
    allowed: tuple[tuple[int, ...], ...],
    unassigned_penalty: float | None,
    scale: int,
) -> int:
    if unassigned_penalty is not None:
        return round(unassigned_penalty * scale)
    dearest = float(scale)
    for node, candidates in enumerate(allowed):
        alone = [
            distance[vehicles[v].depot_node, node]
            + distance[node, vehicles[v].depot_node]
            + vehicles[v].fixed_cost
            for v in candidates
        ]
        dearest = max(dearest, min(alone, default=0.0))
    return int(UNASSIGNED_PENALTY_FACTOR * dearest)


def _unlimited_kg(vehicle: IntVehicle, total_kg: int) -> IntVehicle:
    return IntVehicle(**{**vehicle.__dict__, "max_kg": total_kg})


@dataclass(frozen=True)
class EngineRoute:
    """One engine route: positions in `problem.stops`, departure in scaled time units, and the
    visit number the break leg ends at (None without a break)."""

    vehicle: int
    stops: tuple[int, ...]
    departure: int
    break_before_visit: int | None


@dataclass(frozen=True)
class EngineSolution:
    """An engine's best plan and how the search went. `stopped_by` names what ended the search:
    "time_limit", "work_limit" (solutions or iterations), "first_solution", or "nothing_to_do".
    `feasible` is False when the engine found no feasible plan (then `routes` is empty)."""

    engine: str
    routes: tuple[EngineRoute, ...]
    seconds: float
    first_solution_seconds: float | None
    stopped_by: str
    feasible: bool = True
