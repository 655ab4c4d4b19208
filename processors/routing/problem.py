"""Validated, immutable problem data: depots (branches), stops (orders), vehicles, travel matrix.

Units are the caller's, used consistently: for a delivery day, times are minutes since local
midnight and distances kilometres; for Solomon instances both are the instance's abstract units.
Nodes are numbered depots first, then stops, in the order given; the travel matrix uses that
numbering.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from processors.routing.matrix import MatrixProvider, TravelMatrix


class InvalidProblem(ValueError):
    """The problem data contradicts itself (unknown depot, reversed window, wrong matrix size)."""


@dataclass(frozen=True)
class Coordinates:
    """A point: latitude/longitude in degrees, or planar y/x for Solomon instances."""

    lat: float
    lon: float


@dataclass(frozen=True)
class TimeWindow:
    """A closed interval [start, end]; for a stop, service must *start* inside it."""

    start: float
    end: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.start) and math.isfinite(self.end)) or self.start < 0:
            raise InvalidProblem(f"time window {self} must be finite and not negative")
        if self.start > self.end:
            raise InvalidProblem(f"time window starts after it ends: {self}")


@dataclass(frozen=True)
class DriverBreak:
    """A mandatory break of `duration` that must start within [earliest_start, latest_start]."""

    earliest_start: float
    latest_start: float
    duration: float

    def __post_init__(self) -> None:
        if self.earliest_start > self.latest_start:
            raise InvalidProblem(f"break starts after its latest start: {self}")
        if self.duration < 0:
            raise InvalidProblem(f"negative break duration: {self}")


@dataclass(frozen=True)
class Depot:
    """A branch where vehicles load in the morning and return at night."""

    depot_id: str
    location: Coordinates
    name: str = ""


@dataclass(frozen=True)
class Stop:
    """One order to deliver: tires and weight, a time window, and time spent on site."""

    order_id: str
    location: Coordinates
    tires: int
    weight_kg: float
    window: TimeWindow
    service_time: float

    def __post_init__(self) -> None:
        if self.tires < 0 or self.weight_kg < 0 or self.service_time < 0:
            raise InvalidProblem(f"order {self.order_id}: negative tires, weight or service time")


@dataclass(frozen=True)
class Vehicle:
    """A truck and its driver for the day.

    `max_kg=None` means weight is not limiting. `fixed_cost` is charged once if the vehicle
    leaves its depot, in the same unit as distance (e.g. "a truck costs as much as 40 km").
    """

    vehicle_id: str
    depot_id: str
    max_tires: int
    shift: TimeWindow
    max_kg: float | None = None
    max_route_duration: float | None = None
    driver_break: DriverBreak | None = None
    fixed_cost: float = 0.0

    def __post_init__(self) -> None:
        if self.max_tires < 0 or (self.max_kg is not None and self.max_kg < 0):
            raise InvalidProblem(f"vehicle {self.vehicle_id}: negative capacity")
        if self.max_route_duration is not None and self.max_route_duration <= 0:
            raise InvalidProblem(f"vehicle {self.vehicle_id}: max route duration must be > 0")
        if self.fixed_cost < 0:
            raise InvalidProblem(f"vehicle {self.vehicle_id}: negative fixed cost")
        brk = self.driver_break
        if brk is not None and (
            brk.earliest_start < self.shift.start
            or brk.latest_start + brk.duration > self.shift.end
        ):
            raise InvalidProblem(f"vehicle {self.vehicle_id}: break does not fit in the shift")

    @property
    def route_duration_limit(self) -> float:
        """The tighter of the shift length and the maximum route duration."""
        span = self.shift.end - self.shift.start
        if self.max_route_duration is None:
            return span
        return min(span, self.max_route_duration)


@dataclass(frozen=True)
class RoutingProblem:
    """Everything a planner needs, checked once at construction.

    `time_unit` only affects presentation ("min" prints clock times as HH:MM).
    """

    depots: tuple[Depot, ...]
    stops: tuple[Stop, ...]
    vehicles: tuple[Vehicle, ...]
    matrix: TravelMatrix
    name: str = ""
    time_unit: str = "min"
    _depot_node: dict[str, int] = field(init=False, repr=False, compare=False)
    _stop_index: dict[str, int] = field(init=False, repr=False, compare=False)
    _vehicle_index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        depot_ids = [d.depot_id for d in self.depots]
        order_ids = [s.order_id for s in self.stops]
        vehicle_ids = [v.vehicle_id for v in self.vehicles]
        for kind, ids in (("depot", depot_ids), ("order", order_ids), ("vehicle", vehicle_ids)):
            if len(set(ids)) != len(ids):
                raise InvalidProblem(f"duplicate {kind} ids")
        if not self.depots:
            raise InvalidProblem("a problem needs at least one depot")
        unknown = {v.depot_id for v in self.vehicles} - set(depot_ids)
        if unknown:
            raise InvalidProblem(f"vehicles refer to unknown depots: {sorted(unknown)}")
        nodes = len(self.depots) + len(self.stops)
        if self.matrix.size != nodes:
            raise InvalidProblem(f"travel matrix has {self.matrix.size} nodes, expected {nodes}")
        object.__setattr__(self, "_depot_node", {d: i for i, d in enumerate(depot_ids)})
        object.__setattr__(self, "_stop_index", {o: i for i, o in enumerate(order_ids)})
        object.__setattr__(self, "_vehicle_index", {v: i for i, v in enumerate(vehicle_ids)})

    @classmethod
    def build(
        cls,
        depots: tuple[Depot, ...],
        stops: tuple[Stop, ...],
        vehicles: tuple[Vehicle, ...],
        provider: MatrixProvider,
        *,
        name: str = "",
        time_unit: str = "min",
    ) -> RoutingProblem:
        """Build a problem, asking `provider` for travel times between all nodes."""
        points = [(d.location.lat, d.location.lon) for d in depots]
        points += [(s.location.lat, s.location.lon) for s in stops]
        return cls(depots, stops, vehicles, provider.matrix(points), name, time_unit)

    @property
    def num_depots(self) -> int:
        return len(self.depots)

    def depot_node(self, depot_id: str) -> int:
        """The matrix node of a depot."""
        return self._depot_node[depot_id]

    def stop_node(self, stop_index: int) -> int:
        """The matrix node of the stop at `stop_index` in `stops`."""
        return len(self.depots) + stop_index

    def stop_index(self, order_id: str) -> int:
        return self._stop_index[order_id]

    def has_order(self, order_id: str) -> bool:
        return order_id in self._stop_index

    def vehicle(self, vehicle_id: str) -> Vehicle | None:
        index = self._vehicle_index.get(vehicle_id)
        return None if index is None else self.vehicles[index]

    def vehicle_index(self, vehicle_id: str) -> int:
        return self._vehicle_index[vehicle_id]

    def without_orders(self, order_ids: set[str]) -> RoutingProblem:
        """The same day with some orders removed (e.g. cancelled), matrix sliced to match."""
        keep = [i for i, s in enumerate(self.stops) if s.order_id not in order_ids]
        nodes = list(range(len(self.depots))) + [self.stop_node(i) for i in keep]
        return RoutingProblem(
            self.depots,
            tuple(self.stops[i] for i in keep),
            self.vehicles,
            self.matrix.subset(nodes),
            self.name,
            self.time_unit,
        )
