"""Delivery routes on the wire: the plans (`routes.plans`), vehicle positions (`fleet.positions`)
and the internal records of the route glue (`routes.day_events`, `routes.vehicle_routes`).

Times are timezone-aware datetimes (America/Mexico_City on the way out); distances in km,
durations in minutes. A branch is a warehouse id.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field


def day_key(route_date: date, warehouse_id: int) -> str:
    """The key of a branch-day: "YYYY-MM-DD:warehouse_id"."""
    return f"{route_date.isoformat()}:{warehouse_id}"


class DeliverableOrder(BaseModel):
    """A confirmed order to deliver on `route_date` from branch `warehouse_id`."""

    sales_order_id: int
    customer_id: int
    warehouse_id: int
    route_date: date
    tires: int = Field(ge=0)
    weight_kg: float = Field(ge=0)


class RouteDayEvent(BaseModel):
    """`routes.day_events`, keyed by "<route_date>:<warehouse_id>" (one branch-day per key).

    - `order`: `order` joined (or changed) the day; `order_removed`: `sales_order_id` left it.
    - `plan`: plan the day now (nightly crontab, `topllantas routes plan`).
    - `replan`: the debounce timer found the day changed after its plan.
    """

    kind: Literal["order", "order_removed", "plan", "replan"]
    route_date: date
    warehouse_id: int
    at: datetime
    order: DeliverableOrder | None = None
    sales_order_id: int | None = None
    time_limit_s: float | None = Field(None, gt=0, description="Planner time limit (plan only).")
    requested_by: str = "worker"

    @property
    def key(self) -> str:
        return day_key(self.route_date, self.warehouse_id)


class PlannedStop(BaseModel):
    sequence: int = Field(ge=1)
    sales_order_id: int
    customer_id: int
    lat: float
    lon: float
    tires: int
    weight_kg: float
    arrival: datetime = Field(description="Driver at the door (may wait for the window).")
    service_start: datetime
    service_end: datetime
    window_start: datetime = Field(description="The customer's delivery window.")
    window_end: datetime
    eta_start: datetime = Field(description="The arrival window promised to the customer.")
    eta_end: datetime


class VehicleRoutePlan(BaseModel):
    vehicle_id: int
    plate: str
    departure: datetime
    return_at: datetime
    stops: list[PlannedStop]
    tires: int
    weight_kg: float
    distance_km: float
    duration_min: float


class UnassignedDelivery(BaseModel):
    sales_order_id: int
    reason: str
    detail: str = ""


class RoutePlanEvent(BaseModel):
    """`routes.plans`, keyed by "<route_date>:<branch>": the latest plan of a branch-day."""

    route_date: date
    branch: int
    version: int = Field(ge=1)
    planned_at: datetime
    trigger: str = Field(description="What asked for it: nightly, cli, replan, ...")
    engine: str
    vehicles: list[VehicleRoutePlan]
    unassigned: list[UnassignedDelivery]
    distance_km: float
    duration_min: float

    @property
    def key(self) -> str:
        return day_key(self.route_date, self.branch)


class TrackedStop(BaseModel):
    sales_order_id: int
    customer_name: str
    phone: str | None
    lat: float
    lon: float
    service_min: float
    window_start: datetime
    eta_start: datetime
    eta_end: datetime


class VehicleRoute(BaseModel):
    """`routes.vehicle_routes`, keyed by vehicle id: one vehicle's stops of one plan version.

    Empty `stops` means the vehicle no longer drives that day."""

    vehicle_id: int
    route_date: date
    branch: int
    version: int
    stops: list[TrackedStop]


class VehiclePosition(BaseModel):
    """`fleet.positions`, keyed by vehicle id: a GPS fix."""

    vehicle_id: int
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    at: datetime
