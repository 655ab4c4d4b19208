"""The ERP write-back command of a plan: a repeat of the same plan is one write, a different plan
under the same version is another."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from processors.routing.write_back import assignment_command
from schemas.routes import PlannedStop, RoutePlanEvent, VehicleRoutePlan

DAY = date(2026, 12, 5)
NINE = datetime(2026, 12, 5, 15, 0, tzinfo=UTC)


def stop(order: int, sequence: int, eta_min: int) -> PlannedStop:
    eta = NINE + timedelta(minutes=eta_min)
    return PlannedStop(sequence=sequence, sales_order_id=order, customer_id=order, lat=19.4,
                       lon=-99.1, tires=4, weight_kg=40, arrival=eta, service_start=eta,
                       service_end=eta + timedelta(minutes=15), window_start=NINE,
                       window_end=NINE + timedelta(hours=8), eta_start=eta,
                       eta_end=eta + timedelta(hours=1))


def plan(*routes: tuple[int, list[PlannedStop]], version: int = 1) -> RoutePlanEvent:
    return RoutePlanEvent(
        route_date=DAY, branch=3, version=version, planned_at=NINE, trigger="nightly",
        engine="ortools", unassigned=[], distance_km=10, duration_min=60,
        vehicles=[VehicleRoutePlan(vehicle_id=vehicle, plate=f"ABC-{vehicle}", departure=NINE,
                                   return_at=NINE + timedelta(hours=4), stops=stops, tires=8,
                                   weight_kg=80, distance_km=5, duration_min=30)
                  for vehicle, stops in routes])


def test_one_command_with_every_stop_in_route_order() -> None:
    command = assignment_command(plan((7, [stop(101, 1, 30), stop(102, 2, 90)]),
                                      (8, [stop(103, 1, 45)])), None, NINE)
    assert command is not None
    assert command.route_date == DAY and command.caused_by == "routes.plans:2026-12-05:3"
    assert [(s.sales_order_id, s.vehicle_id, s.sequence) for s in command.stops] == [
        (101, 7, 1), (102, 7, 2), (103, 8, 1)]
    assert command.idempotency_key.startswith("route:2026-12-05:3:v1:")


def test_the_same_plan_again_has_the_same_key() -> None:
    first = assignment_command(plan((7, [stop(101, 1, 30)])), None, NINE)
    again = assignment_command(plan((7, [stop(101, 1, 30)])), None,
                               NINE + timedelta(minutes=5))
    assert first is not None and again is not None
    assert first.idempotency_key == again.idempotency_key


def test_another_plan_under_the_same_version_has_another_key() -> None:
    """The worker that takes over a day from one that died after sending may plan it anew."""
    sent = assignment_command(plan((7, [stop(101, 1, 30), stop(102, 2, 90)])), None, NINE)
    replanned = [assignment_command(p, None, NINE) for p in (
        plan((8, [stop(101, 1, 30), stop(102, 2, 90)])),  # another vehicle
        plan((7, [stop(102, 1, 30), stop(101, 2, 90)])),  # another order
        plan((7, [stop(101, 1, 30), stop(102, 2, 95)])),  # another ETA
    )]
    keys = {c.idempotency_key for c in [sent, *replanned] if c is not None}
    assert len(keys) == 4
    next_version = assignment_command(plan((7, [stop(101, 1, 30)]), version=2), None,
                                      NINE)
    assert next_version is not None
    assert next_version.idempotency_key.startswith("route:2026-12-05:3:v2:")


def test_a_plan_without_stops_writes_nothing() -> None:
    assert assignment_command(plan(), None, NINE) is None
    assert assignment_command(plan((7, [])), None, NINE) is None


def test_stops_the_new_plan_drops_are_released_from_their_vehicles() -> None:
    """Order 102 was cancelled, 103 left unassigned: both come off the trucks they were on."""
    before = plan((7, [stop(101, 1, 30), stop(102, 2, 90)]), (8, [stop(103, 1, 45)]))
    after = plan((8, [stop(101, 1, 30)]), version=2)
    command = assignment_command(after, before, NINE)
    assert command is not None
    assert [(s.sales_order_id, s.vehicle_id) for s in command.stops] == [(101, 8)]
    assert [(r.sales_order_id, r.vehicle_id) for r in command.released] == [(102, 7), (103, 8)]
    same_stops = assignment_command(after, plan((8, [stop(101, 1, 30)])), NINE)
    assert same_stops is not None and same_stops.released == []
    assert same_stops.idempotency_key != command.idempotency_key


def test_a_plan_that_routes_nothing_still_releases_what_was_routed() -> None:
    before = plan((7, [stop(101, 1, 30)]))
    command = assignment_command(plan(version=2), before, NINE)
    assert command is not None and command.stops == []
    assert [(r.sales_order_id, r.vehicle_id) for r in command.released] == [(101, 7)]
