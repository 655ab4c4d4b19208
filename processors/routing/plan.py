"""What a planner returns: routes per vehicle, unassigned orders with their reason, statistics."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class UnassignedReason(StrEnum):
    """Why an order is not on any route. Every order not routed carries one of these."""

    TOO_MANY_TIRES = "more tires than any vehicle capacity"
    TOO_HEAVY = "heavier than any vehicle capacity"
    WINDOW_BEFORE_SHIFTS = "window closes before any shift starts"
    WINDOW_AFTER_SHIFTS = "window opens after every shift ends"
    UNREACHABLE = "not reachable within the shift"
    WINDOW_TOO_NARROW = "window narrower than the planning resolution"
    NO_CAPACITY_LEFT = "no capacity left"


@dataclass(frozen=True)
class Visit:
    """One delivery on a route. `arrival` is when the driver is ready at the door (after any
    break taken on the way); service starts at the window opening at the earliest."""

    order_id: str
    arrival: float
    service_start: float
    service_end: float


@dataclass(frozen=True)
class BreakSlot:
    """The driver's break: taken on the leg that ends at visit number `before_visit`
    (0 = on the way to the first stop, len(visits) = on the way back to the depot)."""

    before_visit: int
    start: float
    end: float


@dataclass(frozen=True)
class Route:
    """One vehicle's day: leave the depot, deliver in order, come back."""

    vehicle_id: str
    depot_id: str
    departure: float
    return_time: float
    visits: tuple[Visit, ...]
    driver_break: BreakSlot | None
    distance: float
    tires: int
    weight_kg: float

    @property
    def order_ids(self) -> tuple[str, ...]:
        return tuple(v.order_id for v in self.visits)


@dataclass(frozen=True)
class UnassignedOrder:
    order_id: str
    reason: UnassignedReason
    detail: str


@dataclass(frozen=True)
class EngineRun:
    """How one engine did in a planning call: what stopped it ("time_limit", "work_limit",
    "first_solution", "nothing_to_do", or "crashed"), its plan's unassigned orders and cost
    (distance + fixed costs), and why its plan was rejected, if it was."""

    engine: str
    seconds: float
    first_solution_seconds: float | None
    stopped_by: str
    unassigned: int | None = None
    cost: float | None = None
    rejected: str = ""


@dataclass(frozen=True)
class RoutePlan:
    """A validated plan. `engine` names the engine whose plan was kept."""

    routes: tuple[Route, ...]
    unassigned: tuple[UnassignedOrder, ...]
    engine: str
    runs: tuple[EngineRun, ...] = field(default=())

    @property
    def distance(self) -> float:
        return sum(r.distance for r in self.routes)

    @property
    def vehicles_used(self) -> int:
        return len(self.routes)

    @property
    def deterministic(self) -> bool:
        """True when no engine was cut by the wall clock, so the same input gives this plan."""
        return all(run.stopped_by not in ("time_limit", "crashed") for run in self.runs)

    def vehicle_of_order(self) -> dict[str, str]:
        """order_id -> vehicle_id for every routed order."""
        return {o: r.vehicle_id for r in self.routes for o in r.order_ids}

    def cost(self, fixed_costs: dict[str, float]) -> float:
        """Distance plus the fixed cost of every vehicle used."""
        return self.distance + sum(fixed_costs.get(r.vehicle_id, 0.0) for r in self.routes)
