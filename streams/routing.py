"""Delivery routes per branch-day: planned from CDC, written back to the ERP, told to customers,
and tracked live from GPS.

erp.public.sales_orders ┐
erp.public.sales_order_lines ┴─> routes.order_changes (by order) ─> table `delivery_orders`
    ─> routes.day_events (by "<date>:<branch>", order joined/left) ┐
nightly crontab 18:00, `topllantas routes plan`, debounce timer ───┴─> table `route_days`
    ─> planner (in a thread) ─> routes.plans, erp.commands (AssignDeliveryRoute),
       messages.outbound (ETA to each customer), messages.email (manifest to dispatch),
       routes.vehicle_routes
routes.vehicle_routes ┐
fleet.positions ──────┴─> table `active_routes` (by vehicle) ─> delay message, dispatcher
    alert and UpdateDeliveryEta, once per stop

Customers and vehicles are GlobalTables loaded from CDC; products and warehouses come from the
shared dimensions (`streams/dimensions.py`). An order added or cancelled after its day was
planned re-plans the day (keeping vehicles where possible) once the day has been quiet for
`REPLAN_DEBOUNCE_S`, until `REPLAN_CUTOFF` on the delivery day. A customer is messaged again
only when their ETA window changed (the message key is the order and the window).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, date, datetime, timedelta

import orjson
from prometheus_client import Counter

from processors.change_events import Change, decode_change
from processors.routing import (
    HaversineMatrixProvider,
    RoutePlan,
    RoutingProblem,
    SolverSettings,
    UnassignedOrder,
    UnassignedReason,
    plan_routes,
    replan,
)
from processors.routing.delivery_day import (
    FALLBACK_TIRE_KG,
    NIGHTLY_CRON,
    NIGHTLY_TIME_LIMIT_S,
    REPLAN_CUTOFF,
    REPLAN_DEBOUNCE_S,
    REPLAN_TIME_LIMIT_S,
    depot_of,
    stop_of,
    vehicle_of,
)
from processors.routing.messages import (
    delay_notices,
    eta_message,
    manifest_email,
    plan_event,
    plan_of_event,
)
from processors.routing.tracking import Predicted, late, predict_arrivals, remaining_stops
from processors.routing.write_back import assignment_command
from schemas.commands import CommandEnvelope
from schemas.erp import Customer, Warehouse
from schemas.erp import Vehicle as ErpVehicle
from schemas.routes import (
    DeliverableOrder,
    RouteDayEvent,
    RoutePlanEvent,
    TrackedStop,
    UnassignedDelivery,
    VehiclePosition,
    VehicleRoute,
    day_key,
)
from schemas.timezones import MEXICO_CITY
from streams.app import app, catalogue
from streams.dead_letters import decoded, decoded_events
from streams.dimensions import clear_table, products, warehouses
from streams.messages import send_message
from streams.metrics import EVENTS
from streams.table_pages import elsewhere
from streams.topics import raw_source, raw_topic

log = logging.getLogger("topllantas.routing")
PLANS = Counter("topllantas_route_plans_total", "Route plans published", ["trigger"])
DELAYS = Counter("topllantas_route_delays_total", "Stops announced late")

ORDERS = catalogue.cdc_topic("sales_orders").name
ORDER_LINES = catalogue.cdc_topic("sales_order_lines").name
DIMENSIONS = {catalogue.cdc_topic(t).name: t for t in ("customers", "vehicles")}
DAY_EVENTS = "routes.day_events"
VEHICLE_ROUTES = "routes.vehicle_routes"
POSITIONS = "fleet.positions"


order_source = raw_source(ORDERS, ORDER_LINES)
dimension_source = raw_source(*DIMENSIONS)
order_changes = raw_topic("routes.order_changes")
day_events = raw_topic(DAY_EVENTS)
plans = raw_topic("routes.plans")
vehicle_routes = raw_topic(VEHICLE_ROUTES)
tracking_source = raw_source(POSITIONS, VEHICLE_ROUTES)
commands = raw_topic("erp.commands")

delivery_orders = app.Table("delivery_orders", default=None,
                            partitions=catalogue["routes.order_changes"].partitions)
route_days = app.Table("route_days", default=None, partitions=catalogue[DAY_EVENTS].partitions)
active_routes = app.Table("active_routes", default=None, partitions=catalogue[POSITIONS].partitions)
customers = app.GlobalTable("dim_route_customers", default=None, partitions=1,
                            recovery_buffer_size=1, use_partitioner=True)
vehicles = app.GlobalTable("dim_route_vehicles", default=None, partitions=1,
                           recovery_buffer_size=1, use_partitioner=True)
DIMENSION_TABLES = {"customers": customers, "vehicles": vehicles}


# --------------------------------------------------------------------------- orders


@app.agent(order_source)
async def route_delivery_orders(stream):  # type: ignore[no-untyped-def]
    """Re-key sales order headers and lines by order id."""
    async for event in stream.events():
        table = "sales_orders" if event.message.topic == ORDERS else "sales_order_lines"
        if (change := await decoded(event, "routing.order_router", decode_change, table)) is None:
            continue
        row = change.row
        order_id = row["id"] if table == "sales_orders" else row["order_id"]
        await order_changes.send(key=orjson.dumps({"order_id": order_id}), value=event.value)


@app.agent(order_changes)
async def track_delivery_orders(stream):  # type: ignore[no-untyped-def]
    """Which branch-day each confirmed delivery order belongs to, with its tires and weight."""
    async for event, change in decoded_events(stream, "routing.orders", decode_change):
        key = event.key.decode()
        state = delivery_orders.get(key) or {"order": None, "lines": {}, "placed": None}
        _apply_order_change(state, change)
        placed = _deliverable(state)
        before = state["placed"]
        after = placed.model_dump(mode="json") if placed else None
        if before != after:
            now = datetime.now(UTC)
            if before and (after is None or _day_of(before) != _day_of(after)):
                old = DeliverableOrder.model_validate(before)
                await _day_event(RouteDayEvent(
                    kind="order_removed", route_date=old.route_date,
                    warehouse_id=old.warehouse_id, at=now, sales_order_id=old.sales_order_id))
            if placed:
                await _day_event(RouteDayEvent(
                    kind="order", route_date=placed.route_date, warehouse_id=placed.warehouse_id,
                    at=now, order=placed))
            state["placed"] = after
        delivery_orders[key] = state
        EVENTS.labels(agent="routing_orders").inc()


def _apply_order_change(state: dict, change: Change) -> None:
    row = change.row
    if change.table == "sales_orders":
        state["order"] = None if change.op == "d" else row
    elif change.op == "d":
        state["lines"].pop(str(row["id"]), None)
    else:
        state["lines"][str(row["id"])] = [row["product_id"], row["qty"]]


def _deliverable(state: dict) -> DeliverableOrder | None:
    order = state["order"]
    if (order is None or order["status"] != "confirmado" or not order.get("needs_delivery")
            or not order.get("delivery_date")):
        return None
    tires = sum(qty for _, qty in state["lines"].values())
    if tires <= 0:
        return None
    weight = 0.0
    for product_id, qty in state["lines"].values():
        product = products.get(str(product_id))
        weight += qty * (float(product["weight_kg"]) if product else FALLBACK_TIRE_KG)
    return DeliverableOrder(sales_order_id=order["id"], customer_id=order["customer_id"],
                            warehouse_id=order["warehouse_id"],
                            route_date=date.fromisoformat(order["delivery_date"]), tires=tires,
                            weight_kg=round(weight, 1))


def _day_of(order: dict) -> tuple[str, int]:
    return order["route_date"], order["warehouse_id"]


async def _day_event(event: RouteDayEvent, partition: int | None = None) -> None:
    await day_events.send(key=event.key.encode(),
                          value=event.model_dump_json().encode(), partition=partition)


@app.agent(dimension_source)
async def load_route_dimensions(stream):  # type: ignore[no-untyped-def]
    """Customers (coordinates, windows, phone) and vehicles (branch, capacity, shift)."""
    async for event in stream.events():
        name = DIMENSIONS[event.message.topic]
        change = await decoded(event, "routing.dimensions", decode_change, name, truncates=True)
        if change is None:
            continue
        table = DIMENSION_TABLES[name]
        if change.op == "t":
            clear_table(table)
        elif change.op == "d":
            table.pop(str(change.row["id"]), None)
        else:
            table[str(change.row["id"])] = change.after


# --------------------------------------------------------------------------- planning


@app.agent(day_events)
async def plan_days(stream):  # type: ignore[no-untyped-def]
    """The orders of each branch-day; plans it on request, re-plans it after changes."""
    async for event, request in decoded_events(stream, "routing.days",
                                               RouteDayEvent.model_validate_json):
        key = event.key.decode()
        state = route_days.get(key) or {"orders": {}, "plan": None, "notified": {},
                                        "manifest": "", "dirty_at": None}
        state["pt"] = event.message.partition
        if request.kind in ("order", "order_removed"):
            if request.order is not None:
                state["orders"][str(request.order.sales_order_id)] = request.order.model_dump(
                    mode="json")
            else:
                state["orders"].pop(str(request.sales_order_id), None)
            if state["plan"] is not None and _before_cutoff(request.route_date):
                state["dirty_at"] = time.time()
        elif request.kind == "plan":
            await _plan_day(request, state, request.time_limit_s or NIGHTLY_TIME_LIMIT_S)
        elif state["dirty_at"] is not None and _before_cutoff(request.route_date):
            await _plan_day(request, state, REPLAN_TIME_LIMIT_S)
        route_days[key] = state
        EVENTS.labels(agent="routing_days").inc()


def _before_cutoff(route_date: date) -> bool:
    return datetime.now(MEXICO_CITY) < datetime.combine(route_date, REPLAN_CUTOFF,
                                                         tzinfo=MEXICO_CITY)


@app.timer(interval=1.0)
async def debounce_replans() -> None:
    """Ask for a re-plan of every changed day of this worker that has been quiet long enough."""
    active = {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == DAY_EVENTS}
    now = time.time()
    for key, state in list(route_days.items()):
        if state and state["dirty_at"] and state["pt"] in active \
                and now - state["dirty_at"] >= REPLAN_DEBOUNCE_S:
            day, branch = key.split(":")
            await _day_event(RouteDayEvent(kind="replan", route_date=date.fromisoformat(day),
                                           warehouse_id=int(branch), at=datetime.now(UTC)),
                             partition=state["pt"])


@app.crontab(NIGHTLY_CRON, timezone=MEXICO_CITY, on_leader=True)
async def plan_tomorrow() -> None:
    """18:00 Mexico City: plan tomorrow for every branch."""
    tomorrow = datetime.now(MEXICO_CITY).date() + timedelta(days=1)
    for row in list(warehouses.values()):
        if row and row.get("is_branch", True):
            await _day_event(RouteDayEvent(kind="plan", route_date=tomorrow,
                                           warehouse_id=row["id"], at=datetime.now(UTC),
                                           requested_by="nightly"))


async def _plan_day(request: RouteDayEvent, state: dict, time_limit_s: float) -> None:
    route_date, branch = request.route_date, request.warehouse_id
    orders = [DeliverableOrder.model_validate(o) for o in state["orders"].values()]
    problem, known, missing = _problem(route_date, branch, orders)
    previous = RoutePlanEvent.model_validate(state["plan"]) if state["plan"] else None
    settings = SolverSettings(time_limit_s=time_limit_s)
    if not problem.stops or not problem.vehicles:
        reason = UnassignedReason.NO_CAPACITY_LEFT
        plan = RoutePlan((), tuple(UnassignedOrder(s.order_id, reason, "no vehicles at the branch")
                                   for s in problem.stops), "none")
    elif previous is not None:
        plan = await asyncio.to_thread(replan, plan_of_event(previous), problem, settings)
    else:
        plan = await asyncio.to_thread(plan_routes, problem, settings)
    version = previous.version + 1 if previous else 1
    plates = {str(v["id"]): v["plate"] for v in list(vehicles.values()) if v}
    event = plan_event(route_date, branch, version, request.requested_by
                       if request.kind == "plan" else "replan", problem, plan, known, missing,
                       plates, datetime.now(UTC))
    state["plan"] = event.model_dump(mode="json")
    state["dirty_at"] = None
    await _publish(event, previous, state, known)
    PLANS.labels(trigger=event.trigger).inc()
    log.info("planned %s v%d: %d vehicles, %d unassigned (%s)", event.key, version,
             len(event.vehicles), len(event.unassigned), event.engine)


def _problem(route_date: date, branch: int, orders: list[DeliverableOrder]
             ) -> tuple[RoutingProblem, dict[int, Customer], list[UnassignedDelivery]]:
    """The branch-day as a planning problem, the customers it uses, and orders it cannot hold."""
    row = warehouses.get(str(branch))
    missing: list[UnassignedDelivery] = []
    known: dict[int, Customer] = {}
    stops = []
    for order in sorted(orders, key=lambda o: o.sales_order_id):
        customer = customers.get(str(order.customer_id))
        if row is None or customer is None:
            what = "branch" if row is None else "customer"
            missing.append(UnassignedDelivery(sales_order_id=order.sales_order_id,
                                              reason=f"{what} unknown",
                                              detail=f"no {what} row has arrived yet"))
            continue
        known[order.sales_order_id] = Customer.model_validate(customer)
        stops.append(stop_of(order, known[order.sales_order_id]))
    depot = depot_of(Warehouse.model_validate(row)) if row else depot_of(Warehouse(
        id=branch, code=str(branch), name="", city="", state="", lat=0.0, lon=0.0))
    fleet = sorted((ErpVehicle.model_validate(v) for v in list(vehicles.values())
                    if v and v["warehouse_id"] == branch), key=lambda v: v.id)
    problem = RoutingProblem.build((depot,), tuple(stops), tuple(vehicle_of(v) for v in fleet),
                                   HaversineMatrixProvider(), name=day_key(route_date, branch))
    return problem, known, missing


async def _publish(event: RoutePlanEvent, previous: RoutePlanEvent | None, state: dict,
                   known: dict[int, Customer]) -> None:
    """The plan, its ERP write-back, customer ETAs that changed, the manifest, vehicle routes."""
    now = datetime.now(UTC)
    key = event.key
    await plans.send(key=key.encode(), value=event.model_dump_json().encode())
    command = assignment_command(event, previous, now)
    if command is not None:
        await commands.send(key=f"route:{key}".encode(),
                            value=CommandEnvelope(command=command).model_dump_json().encode())
    for vehicle in event.vehicles:
        for stop in vehicle.stops:
            customer = known[stop.sales_order_id]
            window = f"{stop.eta_start:%H:%M}-{stop.eta_end:%H:%M}"
            if customer.phone and state["notified"].get(str(stop.sales_order_id)) != window:
                message = eta_message(stop, customer, event.route_date, now)
                await send_message(message)
                state["notified"][str(stop.sales_order_id)] = window
    manifest = manifest_email(event, known, now)
    if manifest.idempotency_key != state["manifest"]:
        await send_message(manifest)
        state["manifest"] = manifest.idempotency_key
    driving = set()
    for vehicle in event.vehicles:
        driving.add(vehicle.vehicle_id)
        await _vehicle_route(event, vehicle.vehicle_id, [
            TrackedStop(sales_order_id=s.sales_order_id,
                        customer_name=known[s.sales_order_id].name,
                        phone=known[s.sales_order_id].phone, lat=s.lat, lon=s.lon,
                        service_min=(s.service_end - s.service_start).total_seconds() / 60,
                        window_start=s.window_start, eta_start=s.eta_start, eta_end=s.eta_end)
            for s in vehicle.stops])
    for vehicle in previous.vehicles if previous else []:
        if vehicle.vehicle_id not in driving:
            await _vehicle_route(event, vehicle.vehicle_id, [])


async def _vehicle_route(event: RoutePlanEvent, vehicle_id: int, stops: list[TrackedStop]
                         ) -> None:
    record = VehicleRoute(vehicle_id=vehicle_id, route_date=event.route_date, branch=event.branch,
                          version=event.version, stops=stops)
    await vehicle_routes.send(key=str(vehicle_id).encode(),
                              value=record.model_dump_json().encode())


# --------------------------------------------------------------------------- tracking


@app.agent(tracking_source)
async def track_vehicles(stream):  # type: ignore[no-untyped-def]
    """Each vehicle's routes by date; GPS fixes update its remaining ETAs and announce delays."""
    async for event in stream.events():
        model = VehicleRoute if event.message.topic == VEHICLE_ROUTES else VehiclePosition
        record = await decoded(event, "routing.tracking", model.model_validate_json)
        if isinstance(record, VehicleRoute):
            _store_route(record)
        elif record is None:
            continue
        else:
            await _track(record)
        EVENTS.labels(agent="routing_tracking").inc()


def _store_route(route: VehicleRoute) -> None:
    key = str(route.vehicle_id)
    days = dict(active_routes.get(key) or {})
    day = route.route_date.isoformat()
    old = days.get(day)
    keep = set(old["delayed"]) if old else set()
    days[day] = {"route": route.model_dump(mode="json"), "reached": [],
                 "delayed": sorted(keep), "predicted": {}}
    active_routes[key] = days


async def _track(position: VehiclePosition) -> None:
    key = str(position.vehicle_id)
    days = dict(active_routes.get(key) or {})
    day = position.at.astimezone(MEXICO_CITY).date().isoformat()
    current = days.get(day)
    if current is None:
        return
    route = VehicleRoute.model_validate(current["route"])
    remaining, reached = remaining_stops(route.stops, set(current["reached"]),
                                         position.lat, position.lon)
    predictions = predict_arrivals(remaining, position.lat, position.lon, position.at)
    delayed = set(current["delayed"])
    for prediction in late(predictions):
        if prediction.stop.sales_order_id not in delayed:
            await _announce_delay(route, prediction, position)
            delayed.add(prediction.stop.sales_order_id)
    days = {d: v for d, v in days.items() if d >= day}
    days[day] = {**current, "reached": sorted(reached), "delayed": sorted(delayed),
                 "predicted": {str(p.stop.sales_order_id): p.service_start.isoformat()
                               for p in predictions}}
    active_routes[key] = days


async def _announce_delay(route: VehicleRoute, prediction: Predicted,
                          position: VehiclePosition) -> None:
    """Customer, dispatcher and the ERP learn once that a stop will be late."""
    notices = delay_notices(route, prediction, position, datetime.now(UTC))
    if notices.customer is not None:
        await send_message(notices.customer)
    await send_message(notices.dispatcher)
    await commands.send(key=f"route:{route.route_date.isoformat()}:{route.branch}".encode(),
                        value=CommandEnvelope(command=notices.command).model_dump_json().encode())
    DELAYS.inc()


@app.page("/routes/vehicles/{vehicle_id}/")
async def vehicle_etas(web, request, vehicle_id: str):  # type: ignore[no-untyped-def]
    """A vehicle's routes with the latest predicted service starts, from the worker that owns
    its partition (another worker redirects there: streams/table_pages.py)."""
    redirect = elsewhere(web, request, active_routes, vehicle_id.encode())
    if redirect is not None:
        return redirect
    stored = active_routes.get(vehicle_id)
    if stored is None:
        return web.json({"error": "unknown vehicle"}, status=404)
    return web.json({day: {"stops": [s["sales_order_id"] for s in v["route"]["stops"]],
                           "reached": v["reached"], "delayed": v["delayed"],
                           "predicted": v["predicted"]} for day, v in stored.items()})
