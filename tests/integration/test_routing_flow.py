"""Delivery routes end to end on real components: confirmed delivery orders in the ERP reach the
worker through CDC, a plan request produces `routes.plans`, deliveries rows in the ERP (through
the ERP sink) and one ETA message per customer in the WhatsApp double; a cancellation re-plans
the day keeping the other orders on their trucks; a GPS fix that makes a stop late announces it
exactly once, to the customer and (by e-mail, with the drivers' manifest) to dispatch."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
from aiosmtpd.controller import Controller
from confluent_kafka import Producer

from ops.doubles.whatsapp_double import WhatsAppDouble
from ops.stack.processes import free_port
from ops.supervisor import Supervisor
from processors.routing.delivery_day import (
    DELAY_TEMPLATE,
    DISPATCHER_EMAIL,
    ETA_TEMPLATE,
    MEXICO_CITY,
)
from schemas.routes import RouteDayEvent, RoutePlanEvent, VehiclePosition, day_key
from tests.integration.conftest import PAGES_AUTH, process_env
from tests.integration.kafka_read import read_all
from tests.integration.test_sink_agents import at_least, eventually
from tests.integration.test_sinks_email import Mailbox
from tests.stack_fixture import TestStack

pytestmark = pytest.mark.integration
ORDERS = 6


async def _delivery_orders(dsn: str, route_date: object) -> tuple[int, dict[int, str]]:
    """A branch with vehicles and `ORDERS` confirmed delivery orders of distinct customers
    (phones) there, with a wide delivery window; returns the branch and order id -> phone."""
    conn = await asyncpg.connect(dsn)
    try:
        branch = await conn.fetchval(
            "SELECT c.home_warehouse_id FROM customers c JOIN vehicles v "
            "ON v.warehouse_id = c.home_warehouse_id WHERE c.phone IS NOT NULL "
            "GROUP BY 1 ORDER BY count(DISTINCT c.id) DESC LIMIT 1")
        customers = await conn.fetch(
            "SELECT id, phone FROM customers WHERE home_warehouse_id = $1 AND phone IS NOT NULL "
            "ORDER BY id LIMIT $2", branch, ORDERS)
        product = await conn.fetchval("SELECT id FROM products ORDER BY id LIMIT 1")
        await conn.execute(
            "UPDATE customers SET delivery_window_start = '09:00', delivery_window_end = '18:00' "
            "WHERE id = ANY($1::int[])", [c["id"] for c in customers])
        orders: dict[int, str] = {}
        async with conn.transaction():
            for i, customer in enumerate(customers):
                order = await conn.fetchval(
                    "INSERT INTO sales_orders (customer_id, warehouse_id, status, channel, "
                    "delivery_date, needs_delivery) VALUES ($1, $2, 'confirmado', 'whatsapp', "
                    "$3, true) RETURNING id", customer["id"], branch, route_date)
                await conn.execute(
                    "INSERT INTO sales_order_lines (order_id, product_id, qty, unit_price, "
                    "unit_cost) VALUES ($1, $2, $3, 1999, 1400)", order, product, 2 + i % 3)
                orders[order] = customer["phone"]
        return branch, orders
    finally:
        await conn.close()


async def _plans(bootstrap: str, key: str) -> list[RoutePlanEvent]:
    records = await asyncio.to_thread(read_all, bootstrap, ["routes.plans"], 1.0)
    return sorted((RoutePlanEvent.model_validate_json(r.value) for r in records
                   if r.key == key.encode()), key=lambda p: p.version)


def _messages(double: WhatsAppDouble, template: str) -> list[dict]:
    return [m for m in double.messages if m["type"] == "template"
            and m["body"]["template"]["name"] == template]


def _assignment(plan: RoutePlanEvent) -> dict[int, int]:
    return {s.sales_order_id: v.vehicle_id for v in plan.vehicles for s in v.stops}


@pytest.fixture
def dispatch_mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield box, controller.port
    finally:
        controller.stop()


async def test_plan_replan_and_track_a_delivery_day(
        fresh_stack: TestStack, supervisor: Supervisor,
        dispatch_mailbox: tuple[Mailbox, int]) -> None:
    mailbox, smtp_port = dispatch_mailbox
    route_date = datetime.now(MEXICO_CITY).date() + timedelta(days=1)
    branch, orders = await _delivery_orders(fresh_stack.erp_dsn, route_date)
    key = day_key(route_date, branch)
    bootstrap = fresh_stack.bootstrap_servers
    producer = Producer({"bootstrap.servers": bootstrap, "partitioner": "murmur2_random"})
    async with WhatsAppDouble.from_settings(fresh_stack.settings()) as double:
        env = process_env(fresh_stack, WHATSAPP_BASE_URL=double.base_url,
                          SMTP_PORT=str(smtp_port))
        supervisor.start("cdc", "cdc", "run", env=env)
        supervisor.start("worker", "worker", env=env)

        async def day_orders() -> set[int]:
            records = await asyncio.to_thread(read_all, bootstrap, ["routes.day_events"], 1.0)
            events = [RouteDayEvent.model_validate_json(r.value) for r in records]
            seen = {e.order.sales_order_id for e in events if e.order}
            return seen if seen >= set(orders) else set()

        # the first wait also covers the cold start of a worker running every flow (~15-40 s
        # on a loaded 2-core machine: table recovery, group joins on the embedded broker)
        await eventually(day_orders, timeout=120)
        request = RouteDayEvent(kind="plan", route_date=route_date, warehouse_id=branch,
                                at=datetime.now(UTC), time_limit_s=2.0, requested_by="test")
        producer.produce("routes.day_events", key=key.encode(),
                         value=request.model_dump_json().encode())
        producer.flush(10)

        first = (await eventually(lambda: _plans(bootstrap, key), timeout=30))[0]
        assigned = _assignment(first)
        assert set(assigned) | {u.sales_order_id for u in first.unassigned} == set(orders)
        assert all(u.reason for u in first.unassigned)
        assert assigned, "a wide-window day with idle trucks routes something"
        for vehicle in first.vehicles:
            assert [s.sequence for s in vehicle.stops] == list(range(1, len(vehicle.stops) + 1))
            for stop in vehicle.stops:
                assert stop.eta_start <= stop.service_start <= stop.eta_end

        conn = await asyncpg.connect(fresh_stack.erp_dsn)
        try:
            async def deliveries() -> list:
                rows = await conn.fetch(
                    "SELECT sales_order_id, vehicle_id, sequence FROM deliveries "
                    "WHERE sales_order_id = ANY($1::bigint[]) AND vehicle_id IS NOT NULL",
                    list(assigned))
                return rows if len(rows) == len(assigned) else []

            rows = await eventually(deliveries, timeout=20)
            sequence = {s.sales_order_id: s.sequence for v in first.vehicles for s in v.stops}
            assert {r["sales_order_id"]: (r["vehicle_id"], r["sequence"]) for r in rows} == {
                o: (assigned[o], sequence[o]) for o in assigned}

            notified = {orders[o] for o in assigned}
            await eventually(
                lambda: {m["to"] for m in _messages(double, ETA_TEMPLATE)} >= notified,
                timeout=20)
            eta_messages = _messages(double, ETA_TEMPLATE)
            assert sorted(m["to"] for m in eta_messages) == sorted(notified)  # one each

            # Cancel one order before the cutoff: the day is re-planned, the rest stay put.
            cancelled = next(iter(assigned))
            await conn.execute("UPDATE sales_orders SET status = 'cancelado' WHERE id = $1",
                               cancelled)
            plans = await eventually(lambda: at_least(lambda: _plans(bootstrap, key), 2),
                                     timeout=30)

            async def released() -> bool:  # the ERP takes the cancelled order off its truck
                row = await conn.fetchrow("SELECT status, vehicle_id FROM deliveries "
                                          "WHERE sales_order_id = $1", cancelled)
                return tuple(row) == ("pendiente", None)

            await eventually(released, timeout=20)
        finally:
            await conn.close()
        second = plans[-1]
        assert second.trigger == "replan" and second.version == 2
        after = _assignment(second)
        assert cancelled not in after
        assert {o: v for o, v in after.items() if o in assigned} == {
            o: v for o, v in assigned.items() if o != cancelled and o in after}
        await asyncio.sleep(2)
        windows_before = {s.sales_order_id: (s.eta_start, s.eta_end)
                          for v in first.vehicles for s in v.stops}
        per_phone = [m["to"] for m in _messages(double, ETA_TEMPLATE)]
        for vehicle in second.vehicles:
            for stop in vehicle.stops:
                same = windows_before.get(stop.sales_order_id) == (stop.eta_start, stop.eta_end)
                assert per_phone.count(orders[stop.sales_order_id]) == (1 if same else 2)

        # GPS: the vehicle is at its second-to-last stop long after the last stop's window.
        vehicle = max(second.vehicles, key=lambda v: len(v.stops))
        last = vehicle.stops[-1]
        here = vehicle.stops[-2] if len(vehicle.stops) > 1 else None
        lat, lon = (here.lat, here.lon) if here else (last.lat + 0.02, last.lon)
        for minutes in (40, 41, 42):
            fix = VehiclePosition(vehicle_id=vehicle.vehicle_id, lat=lat, lon=lon,
                                  at=last.eta_end + timedelta(minutes=minutes))
            producer.produce("fleet.positions", key=str(vehicle.vehicle_id).encode(),
                             value=fix.model_dump_json().encode())
        producer.flush(10)
        delays = await eventually(lambda: _messages(double, DELAY_TEMPLATE), timeout=20)
        await asyncio.sleep(3)
        delays = _messages(double, DELAY_TEMPLATE)
        assert [m["to"] for m in delays] == [orders[last.sales_order_id]]
        subjects = [m["Subject"] for m in mailbox.delivered if m["To"] == DISPATCHER_EMAIL]
        assert sum(s.startswith("Manifiesto de rutas") for s in subjects) == 2  # v1 and v2
        assert subjects.count(f"Retraso: pedido {last.sales_order_id}, unidad "
                              f"{vehicle.vehicle_id}") == 1

        # the dispatcher's view of the vehicle, from the worker that owns it
        page = httpx.get(f"http://127.0.0.1:{env['FAUST_WEB_PORT']}/routes/vehicles/"
                         f"{vehicle.vehicle_id}/", timeout=5, headers=PAGES_AUTH)
        assert page.status_code == 200, page.text
        day = page.json()[route_date.isoformat()]
        assert day["stops"] == [s.sales_order_id for s in vehicle.stops]
        assert last.sales_order_id in day["delayed"]
