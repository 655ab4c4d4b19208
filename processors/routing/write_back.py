"""The ERP write-back of a branch-day's plan: one AssignDeliveryRoute command per plan."""

from __future__ import annotations

import hashlib
from datetime import datetime

from schemas.commands import AssignDeliveryRoute, RouteStop
from schemas.routes import RoutePlanEvent


def assignment_command(event: RoutePlanEvent, issued_at: datetime) -> AssignDeliveryRoute | None:
    """The stops of `event` as one command; None when it routes no stop.

    The idempotency key names the plan's version and its stops: the same plan sent again (a
    redelivery, a replay after a crash) is applied once, while a different plan under the same
    version number (the day re-planned by the worker that took the partition over from one
    that died after sending; the solver's time-limited search need not find the same routes)
    is applied too, so the ERP ends on the plan the worker keeps.
    """
    stops = [RouteStop(sales_order_id=s.sales_order_id, vehicle_id=v.vehicle_id,
                       sequence=s.sequence, eta_start=s.eta_start, eta_end=s.eta_end)
             for v in event.vehicles for s in v.stops]
    if not stops:
        return None
    digest = hashlib.sha256("|".join(
        f"{s.sales_order_id},{s.vehicle_id},{s.sequence},{s.eta_start.isoformat()},"
        f"{s.eta_end.isoformat()}" for s in stops).encode()).hexdigest()[:12]
    return AssignDeliveryRoute(idempotency_key=f"route:{event.key}:v{event.version}:{digest}",
                               issued_at=issued_at, caused_by=f"routes.plans:{event.key}",
                               route_date=event.route_date, stops=stops)
