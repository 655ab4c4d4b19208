"""A plan's outside-world messages (processors/routing/messages.py), with explicit inputs."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from processors.routing.delivery_day import at_minutes, depot_of, stop_of, vehicle_of
from processors.routing.matrix import HaversineMatrixProvider
from processors.routing.messages import delay_notices, eta_message, manifest_email, plan_event
from processors.routing.plan import Route, RoutePlan, Visit
from processors.routing.problem import RoutingProblem
from processors.routing.tracking import Predicted
from schemas.erp import Customer, Warehouse
from schemas.erp import Vehicle as ErpVehicle
from schemas.routes import DeliverableOrder, TrackedStop, VehiclePosition, VehicleRoute

DAY = date(2026, 5, 14)  # a Thursday
NOW = datetime(2026, 5, 13, 23, 0, tzinfo=UTC)
CUSTOMER = Customer(id=5, name="Ana", tier="taller", phone="5218112345678", address="Av. 1",
                    city="Monterrey", state="NL", lat=25.70, lon=-100.30,
                    delivery_window_start=time(9), delivery_window_end=time(18))
WAREHOUSE = Warehouse(id=2, code="MTY", name="Monterrey", city="Monterrey", state="NL",
                      lat=25.6866, lon=-100.3161)
TRUCK = ErpVehicle(id=7, warehouse_id=2, plate="NL-123", capacity_tires=80,
                   capacity_kg=1500, shift_start=time(8), shift_end=time(18))


def one_stop_plan() -> tuple[RoutingProblem, RoutePlan]:
    order = DeliverableOrder(sales_order_id=41, customer_id=5, warehouse_id=2, route_date=DAY,
                             tires=4, weight_kg=40.0)
    problem = RoutingProblem.build((depot_of(WAREHOUSE),), (stop_of(order, CUSTOMER),),
                                   (vehicle_of(TRUCK),), HaversineMatrixProvider(), name="d")
    route = Route("7", "2", 480.0, 720.0, (Visit("41", 600.0, 600.0, 614.0),), None, 12.5, 4,
                  40.0)
    return problem, RoutePlan((route,), (), "test")


def test_plan_event_uses_the_plates_and_time_it_is_given() -> None:
    problem, plan = one_stop_plan()
    event = plan_event(DAY, 2, 3, "nightly", problem, plan, {41: CUSTOMER}, [], {"7": "NL-123"},
                       NOW)
    assert event.planned_at == NOW and event.version == 3
    (vehicle,) = event.vehicles
    assert vehicle.plate == "NL-123" and vehicle.departure == at_minutes(DAY, 480)
    (stop,) = vehicle.stops
    assert (stop.eta_start, stop.eta_end) == (at_minutes(DAY, 540), at_minutes(DAY, 660))
    message = eta_message(stop, CUSTOMER, DAY, NOW)
    assert message.idempotency_key == "eta:41:2026-05-14:09:00-11:00"
    assert "jueves 14 de mayo entre 09:00 y 11:00" in message.text
    assert message.issued_at == NOW
    manifest = manifest_email(event, {41: CUSTOMER}, NOW)
    later = manifest_email(event.model_copy(update={"version": 4}), {41: CUSTOMER}, NOW)
    assert manifest.idempotency_key == later.idempotency_key  # same drivers' content
    assert "Unidad NL-123 (#7)" in manifest.text


def test_delay_notices_round_the_new_window_and_skip_a_customer_without_phone() -> None:
    stop = TrackedStop(sales_order_id=41, customer_name="Ana", phone=None, lat=25.7,
                       lon=-100.3, service_min=14, window_start=at_minutes(DAY, 540),
                       eta_start=at_minutes(DAY, 540), eta_end=at_minutes(DAY, 660))
    route = VehicleRoute(vehicle_id=7, route_date=DAY, branch=2, version=1, stops=[stop])
    start = at_minutes(DAY, 700)  # 11:40 local
    prediction = Predicted(stop, start - timedelta(minutes=5), start)
    position = VehiclePosition(vehicle_id=7, lat=25.69, lon=-100.31, at=NOW)
    notices = delay_notices(route, prediction, position, NOW)
    assert notices.customer is None
    assert (notices.command.eta_start, notices.command.eta_end) == (
        at_minutes(DAY, 690), at_minutes(DAY, 750))
    assert "hacia las 11:40, 40 min después" in notices.dispatcher.text
