"""Solomon VRPTW instances in the standard text format.

    C101

    VEHICLE
    NUMBER     CAPACITY    [KMS/TRIP]
      25         200         [1000]

    CUSTOMER
    CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME

        0      40         50          0          0       1236          0
        1      45         68         10        912        967         90

Customer 0 is the depot; its window is every vehicle's shift. Distances are Euclidean and
unrounded (the "real distance" convention), travel time equals distance, and a vehicle's time
includes the service time of the stop it leaves. The optional KMS/TRIP column (present in some
copies) is read and ignored, as in the published results.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from processors.routing.matrix import EuclideanMatrixProvider
from processors.routing.problem import (
    Coordinates,
    Depot,
    InvalidProblem,
    RoutingProblem,
    Stop,
    TimeWindow,
    Vehicle,
)


@dataclass(frozen=True)
class SolomonCustomer:
    number: int
    x: float
    y: float
    demand: int
    ready: float
    due: float
    service: float


@dataclass(frozen=True)
class SolomonInstance:
    name: str
    vehicles: int
    capacity: int
    customers: tuple[SolomonCustomer, ...]  # customers[0] is the depot

    def to_problem(self) -> RoutingProblem:
        """One depot, `vehicles` identical vehicles, Euclidean travel at speed 1."""
        depot = self.customers[0]
        shift = TimeWindow(depot.ready, depot.due)
        stops = tuple(
            Stop(
                order_id=str(c.number),
                location=Coordinates(lat=c.y, lon=c.x),
                tires=c.demand,
                weight_kg=0.0,
                window=TimeWindow(c.ready, c.due),
                service_time=c.service,
            )
            for c in self.customers[1:]
        )
        width = len(str(self.vehicles))
        vehicles = tuple(
            Vehicle(
                vehicle_id=f"V{i + 1:0{width}d}", depot_id="0", max_tires=self.capacity, shift=shift
            )
            for i in range(self.vehicles)
        )
        depots = (Depot("0", Coordinates(lat=depot.y, lon=depot.x), name="depot"),)
        return RoutingProblem.build(
            depots, stops, vehicles, EuclideanMatrixProvider(), name=self.name, time_unit="unit"
        )


def parse_solomon(text: str) -> SolomonInstance:
    """Parse an instance; raises `InvalidProblem` on anything that is not the format above."""
    lines = [line.strip() for line in text.splitlines()]
    content = [line for line in lines if line]
    if not content:
        raise InvalidProblem("empty Solomon file")
    name = content[0]
    upper = [line.upper() for line in content]
    try:
        vehicle_at = upper.index("VEHICLE")
        customer_at = upper.index("CUSTOMER")
    except ValueError as error:
        raise InvalidProblem("missing VEHICLE or CUSTOMER section") from error
    fleet = _numbers(content[vehicle_at + 2], "vehicle line")
    if len(fleet) < 2:
        raise InvalidProblem(f"vehicle line needs NUMBER and CAPACITY: {content[vehicle_at + 2]!r}")
    customers: list[SolomonCustomer] = []
    for line in content[customer_at + 2 :]:
        values = _numbers(line, "customer line")
        if len(values) != 7:
            raise InvalidProblem(f"customer line needs 7 numbers: {line!r}")
        number, x, y, demand, ready, due, service = values
        customers.append(SolomonCustomer(int(number), x, y, int(demand), ready, due, service))
    if not customers or customers[0].number != 0:
        raise InvalidProblem("the first customer must be the depot, number 0")
    return SolomonInstance(name, int(fleet[0]), int(fleet[1]), tuple(customers))


def read_solomon(path: str | Path) -> SolomonInstance:
    return parse_solomon(Path(path).read_text())


def format_solomon(instance: SolomonInstance) -> str:
    """The instance in the standard text format (round-trips through `parse_solomon`)."""
    rows = [
        f"{c.number:5d} {c.x:10g} {c.y:10g} {c.demand:10d} {c.ready:10g} {c.due:10g} "
        f"{c.service:10g}"
        for c in instance.customers
    ]
    header = [
        instance.name,
        "",
        "VEHICLE",
        "NUMBER     CAPACITY",
        f"{instance.vehicles:5d} {instance.capacity:12d}",
        "",
        "CUSTOMER",
        "CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME",
        "",
    ]
    return "\n".join([*header, *rows]) + "\n"


def _numbers(line: str, what: str) -> Sequence[float]:
    try:
        return [float(token) for token in line.split()]
    except ValueError as error:
        raise InvalidProblem(f"bad {what}: {line!r}") from error
