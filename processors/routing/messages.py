"""What a delivery plan becomes for the outside world (pure): the `routes.plans` record, the
customers' ETA messages, the drivers' manifest, and the notices of a late stop.

Every input is explicit: the vehicles' plates, the customers and the time (`now`,
`planned_at`) are passed in by the stream glue (streams/routing.py), which reads them from its
tables and the clock. Customer-facing text is Spanish (es-MX).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from processors.routing.delivery_day import (
    CHANGE_TIME_BUTTON,
    DELAY_TEMPLATE,
    DISPATCHER_EMAIL,
    ETA_ROUND_MIN,
    ETA_TEMPLATE,
    at_minutes,
    eta_window,
)
from processors.routing.plan import Route, RoutePlan, Visit
from processors.routing.problem import RoutingProblem
from processors.routing.tracking import Predicted
from schemas.commands import Button, OutboundMessage, UpdateDeliveryEta
from schemas.erp import Customer
from schemas.routes import (
    PlannedStop,
    RoutePlanEvent,
    UnassignedDelivery,
    VehiclePosition,
    VehicleRoute,
    VehicleRoutePlan,
)
from schemas.timezones import MEXICO_CITY

MONTHS = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
          "septiembre", "octubre", "noviembre", "diciembre")
WEEKDAYS = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")


def spanish_date(day: date) -> str:
    return f"{WEEKDAYS[day.weekday()]} {day.day} de {MONTHS[day.month - 1]}"


def _vehicle_plan(route_date: date, route: Route, problem: RoutingProblem,
                  known: Mapping[int, Customer], plate: str) -> VehicleRoutePlan:
    stops = []
    for sequence, visit in enumerate(route.visits, start=1):
        stop = problem.stops[problem.stop_index(visit.order_id)]
        eta_start, eta_end = eta_window(visit.service_start, stop.window)
        stops.append(PlannedStop(
            sequence=sequence, sales_order_id=int(visit.order_id),
            customer_id=known[int(visit.order_id)].id, lat=stop.location.lat,
            lon=stop.location.lon, tires=stop.tires, weight_kg=stop.weight_kg,
            arrival=at_minutes(route_date, visit.arrival),
            service_start=at_minutes(route_date, visit.service_start),
            service_end=at_minutes(route_date, visit.service_end),
            window_start=at_minutes(route_date, stop.window.start),
            window_end=at_minutes(route_date, stop.window.end),
            eta_start=at_minutes(route_date, eta_start),
            eta_end=at_minutes(route_date, eta_end)))
    return VehicleRoutePlan(
        vehicle_id=int(route.vehicle_id), plate=plate,
        departure=at_minutes(route_date, route.departure),
        return_at=at_minutes(route_date, route.return_time), stops=stops, tires=route.tires,
        weight_kg=route.weight_kg, distance_km=round(route.distance, 3),
        duration_min=round(route.return_time - route.departure, 1))


def plan_event(route_date: date, branch: int, version: int, trigger: str,
               problem: RoutingProblem, plan: RoutePlan, known: Mapping[int, Customer],
               missing: list[UnassignedDelivery], plates: Mapping[str, str],
               planned_at: datetime) -> RoutePlanEvent:
    """A planner's plan as the `routes.plans` record: clock times, promised ETA windows.
    `plates` maps each vehicle id of the plan to its plate; `known` each order to its
    customer."""
    routes = [_vehicle_plan(route_date, route, problem, known, plates[route.vehicle_id])
              for route in plan.routes]
    unassigned = missing + [
        UnassignedDelivery(sales_order_id=int(u.order_id), reason=u.reason.value, detail=u.detail)
        for u in plan.unassigned]
    return RoutePlanEvent(
        route_date=route_date, branch=branch, version=version, planned_at=planned_at,
        trigger=trigger, engine=plan.engine, vehicles=routes, unassigned=unassigned,
        distance_km=round(sum(r.distance_km for r in routes), 3),
        duration_min=round(sum(r.duration_min for r in routes), 1))


def _minutes(at: datetime, route_date: date) -> float:
    return (at - at_minutes(route_date, 0)).total_seconds() / 60.0


def plan_of_event(event: RoutePlanEvent) -> RoutePlan:
    """A `routes.plans` record back in the planner's terms (what `replan` starts from)."""
    d = event.route_date
    routes = tuple(
        Route(str(v.vehicle_id), str(event.branch), _minutes(v.departure, d),
              _minutes(v.return_at, d),
              tuple(Visit(str(s.sales_order_id), _minutes(s.arrival, d),
                          _minutes(s.service_start, d), _minutes(s.service_end, d))
                    for s in v.stops),
              None, v.distance_km, v.tires, v.weight_kg)
        for v in event.vehicles)
    return RoutePlan(routes, (), event.engine)


def eta_message(stop: PlannedStop, customer: Customer, route_date: date, now: datetime
                ) -> OutboundMessage:
    """The customer's ETA window; its key is the order and the window, so a re-plan that keeps
    the window does not message again."""
    start, end = f"{stop.eta_start:%H:%M}", f"{stop.eta_end:%H:%M}"
    when = spanish_date(route_date)
    return OutboundMessage(
        idempotency_key=f"eta:{stop.sales_order_id}:{route_date.isoformat()}:{start}-{end}",
        to=customer.phone or "",
        text=(f"Hola {customer.name}, tu pedido {stop.sales_order_id} de TopLlantas llega el "
              f"{when} entre {start} y {end}. Si esa hora no te acomoda, toca "
              f"{CHANGE_TIME_BUTTON}."),
        buttons=[Button(id=f"route:change_time:{stop.sales_order_id}",
                        title=CHANGE_TIME_BUTTON)],
        template=ETA_TEMPLATE,
        template_params=[customer.name, str(stop.sales_order_id), when, start, end],
        context={"sales_order_id": str(stop.sales_order_id), "kind": "route_eta"},
        issued_at=now)


def manifest_email(event: RoutePlanEvent, known: Mapping[int, Customer], now: datetime
                   ) -> OutboundMessage:
    """The drivers' manifest for dispatch; its key is its content, so a re-plan that changes
    nothing for the drivers is not sent again."""
    lines = [f"Rutas del {spanish_date(event.route_date)}, sucursal {event.branch} "
             f"(versión {event.version}, motor {event.engine})", ""]
    for vehicle in event.vehicles:
        lines.append(f"Unidad {vehicle.plate} (#{vehicle.vehicle_id}): sale "
                     f"{vehicle.departure:%H:%M}, regresa {vehicle.return_at:%H:%M}, "
                     f"{vehicle.tires} llantas, {vehicle.weight_kg:.0f} kg, "
                     f"{vehicle.distance_km:.1f} km")
        for s in vehicle.stops:
            customer = known[s.sales_order_id]
            lines.append(f"  {s.sequence}. {s.service_start:%H:%M} pedido {s.sales_order_id} - "
                         f"{customer.name}, {customer.address}, {customer.city} - "
                         f"{s.tires} llantas (cliente: {s.eta_start:%H:%M}-{s.eta_end:%H:%M})")
        lines.append("")
    if event.unassigned:
        lines.append("Sin asignar:")
        lines += [f"  pedido {u.sales_order_id}: {u.reason} {u.detail}".rstrip()
                  for u in event.unassigned]
    text = "\n".join(lines)
    digest = hashlib.sha256(text.split("\n", 1)[1].encode()).hexdigest()[:16]
    return OutboundMessage(
        idempotency_key=f"manifest:{event.key}:{digest}", channel="email", to=DISPATCHER_EMAIL,
        subject=f"Manifiesto de rutas {event.route_date.isoformat()} sucursal {event.branch}",
        text=text, context={"route_day": event.key, "version": str(event.version)},
        issued_at=now)


@dataclass(frozen=True, slots=True)
class DelayNotices:
    """What a late stop is told, once: the customer (when they have a phone), the dispatcher,
    and the ERP (the new ETA window)."""

    customer: OutboundMessage | None
    dispatcher: OutboundMessage
    command: UpdateDeliveryEta


def delay_notices(route: VehicleRoute, prediction: Predicted, position: VehiclePosition,
                  now: datetime) -> DelayNotices:
    stop = prediction.stop
    start_local = prediction.service_start.astimezone(MEXICO_CITY)
    start = start_local - timedelta(minutes=start_local.minute % ETA_ROUND_MIN,
                                    seconds=start_local.second,
                                    microseconds=start_local.microsecond)
    end = start + timedelta(minutes=2 * ETA_ROUND_MIN)
    window = f"entre {start:%H:%M} y {end:%H:%M}"
    order = stop.sales_order_id
    customer = None
    if stop.phone:
        customer = OutboundMessage(
            idempotency_key=f"delay:{order}:customer", to=stop.phone,
            text=(f"Hola {stop.customer_name}, tu pedido {order} de TopLlantas viene con "
                  f"retraso. Ahora llegamos {window}. Disculpa las molestias."),
            buttons=[Button(id=f"route:change_time:{order}", title=CHANGE_TIME_BUTTON)],
            template=DELAY_TEMPLATE,
            template_params=[stop.customer_name, str(order), f"{start:%H:%M}", f"{end:%H:%M}"],
            context={"sales_order_id": str(order), "kind": "route_delay"}, issued_at=now)
    dispatcher = OutboundMessage(
        idempotency_key=f"delay:{order}:dispatcher", channel="email", to=DISPATCHER_EMAIL,
        subject=f"Retraso: pedido {order}, unidad {route.vehicle_id}",
        text=(f"La unidad {route.vehicle_id} llegará al pedido {order} ({stop.customer_name}) "
              f"hacia las {start_local:%H:%M}, "
              f"{prediction.late_min:.0f} min después de lo prometido "
              f"({stop.eta_start:%H:%M}-{stop.eta_end:%H:%M}). Última posición "
              f"{position.lat:.5f}, {position.lon:.5f} a las "
              f"{position.at.astimezone(MEXICO_CITY):%H:%M}."),
        context={"sales_order_id": str(order), "kind": "route_delay"}, issued_at=now)
    command = UpdateDeliveryEta(idempotency_key=f"eta:{order}:delay", issued_at=now,
                                caused_by=f"fleet.positions:{route.vehicle_id}",
                                sales_order_id=order, eta_start=start, eta_end=end)
    return DelayNotices(customer, dispatcher, command)
