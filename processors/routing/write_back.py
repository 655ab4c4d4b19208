"""The ERP write-back of a branch-day's plan: one AssignDeliveryRoute command per plan."""

from __future__ import annotations

import hashlib
from datetime import datetime

from schemas.commands import AssignDeliveryRoute, ReleasedStop, RouteStop
from schemas.routes import RoutePlanEvent


def assignment_command(event: RoutePlanEvent, previous: RoutePlanEvent | None,
                       issued_at: datetime) -> AssignDeliveryRoute | None:
    """The plan's stops, and the stops of the day's previous plan it does not route (their
    orders cancelled, moved to another day or branch, or left unassigned): the ERP takes those
    deliveries off their vehicles unless they have been assigned elsewhere since. None when
    there is neither.

    The idempotency key names the plan's version and its content: the same plan sent again (a
    redelivery, a replay after a crash) is applied once, while a different plan under the same
    version number (the day re-planned by the worker that took the partition over from one
    that died after sending; the solver's time-limited search need not find the same routes)
    is applied too, so the ERP ends on the plan the worker keeps.
    """
    stops = [RouteStop(sales_order_id=s.sales_order_id, vehicle_id=v.vehicle_id,
                       sequence=s.sequence, eta_start=s.eta_start, eta_end=s.eta_end)
             for v in event.vehicles for s in v.stops]
    routed = {s.sales_order_id for s in stops}
    released = [ReleasedStop(sales_order_id=s.sales_order_id, vehicle_id=v.vehicle_id)
                for v in (previous.vehicles if previous else []) for s in v.stops
                if s.sales_order_id not in routed]
    if not stops and not released:
        return None
    content = "|".join([*(f"{s.sales_order_id},{s.vehicle_id},{s.sequence},"
                          f"{s.eta_start.isoformat()},{s.eta_end.isoformat()}" for s in stops),
                        *(f"-{r.sales_order_id},{r.vehicle_id}" for r in released)])
    digest = hashlib.sha256(content.encode()).hexdigest()[:12]
    return AssignDeliveryRoute(idempotency_key=f"route:{event.key}:v{event.version}:{digest}",
                               issued_at=issued_at, caused_by=f"routes.plans:{event.key}",
                               route_date=event.route_date, stops=stops, released=released)
