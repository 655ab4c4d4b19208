"""Two route workers in one consumer group: branch-days (a Faust table keyed by "<day>:<branch>")
move to a worker that joins, back when it leaves, and over a SIGKILL while days are being
planned. Whatever moved, each day's newest plan on `routes.plans` is what the ERP holds (every
planned order on its vehicle, in its sequence), a cancelled order is in no plan and on no
vehicle in the ERP, and every customer of a planned order was told the ETA window of the
newest plan."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest
from aiosmtpd.controller import Controller
from confluent_kafka import Producer

from ops.doubles.whatsapp_double import WhatsAppDouble
from ops.stack.processes import free_port
from ops.supervisor import Supervisor
from processors.routing.delivery_day import ETA_TEMPLATE, MEXICO_CITY
from schemas.routes import RouteDayEvent, RoutePlanEvent, day_key
from tests.integration.conftest import process_env
from tests.integration.kafka_read import read_all
from tests.integration.test_analytics_enrichment import Pipeline, web_up
from tests.integration.test_sink_agents import eventually, meanwhile
from tests.integration.test_sinks_email import Mailbox
from tests.stack_fixture import TestStack

pytestmark = pytest.mark.integration

ROUTES_FLOW = ("worker", "--flows", "routes")
BRANCHES, ORDERS = 4, 4


async def delivery_days(stack: TestStack, route_date: date) -> dict[int, dict[int, str]]:
    """Up to `BRANCHES` branches with vehicles, each with `ORDERS` confirmed delivery orders
    of its customers for `route_date`: branch -> order id -> the customer's phone."""
    conn = await asyncpg.connect(stack.erp_dsn)
    try:
        branches = await conn.fetch(
            "SELECT c.home_warehouse_id AS branch FROM customers c JOIN vehicles v "
            "ON v.warehouse_id = c.home_warehouse_id WHERE c.phone IS NOT NULL "
            "GROUP BY 1 HAVING count(DISTINCT c.id) >= $1 ORDER BY 1 LIMIT $2", ORDERS, BRANCHES)
        product = await conn.fetchval("SELECT id FROM products ORDER BY id LIMIT 1")
        days: dict[int, dict[int, str]] = {}
        async with conn.transaction():
            for row in branches:
                customers = await conn.fetch(
                    "UPDATE customers SET delivery_window_start = '09:00', "
                    "delivery_window_end = '18:00' WHERE id IN (SELECT id FROM customers "
                    "WHERE home_warehouse_id = $1 AND phone IS NOT NULL ORDER BY id LIMIT $2) "
                    "RETURNING id, phone", row["branch"], ORDERS)
                days[row["branch"]] = {}
                for i, customer in enumerate(customers):
                    order = await conn.fetchval(
                        "INSERT INTO sales_orders (customer_id, warehouse_id, status, channel, "
                        "delivery_date, needs_delivery) VALUES ($1, $2, 'confirmado', "
                        "'mostrador', $3, true) RETURNING id", customer["id"], row["branch"],
                        route_date)
                    await conn.execute(
                        "INSERT INTO sales_order_lines (order_id, product_id, qty, unit_price, "
                        "unit_cost) VALUES ($1, $2, $3, 1999, 1400)", order, product, 2 + i % 3)
                    days[row["branch"]][order] = customer["phone"]
    finally:
        await conn.close()
    assert len(days) >= 2, "the seeded catalogue has fewer than two branches to plan"
    return days


class Planner:
    """Asks for plans of the days, as `topllantas routes plan` does."""

    def __init__(self, stack: TestStack, route_date: date, branches: list[int]) -> None:
        self.producer = Producer({"bootstrap.servers": stack.bootstrap_servers,
                                  "partitioner": "murmur2_random"})
        self.route_date = route_date
        self.keys = {day_key(route_date, b): b for b in branches}

    def plan_all(self) -> None:
        for key, branch in self.keys.items():
            request = RouteDayEvent(kind="plan", route_date=self.route_date, warehouse_id=branch,
                                    at=datetime.now(UTC), time_limit_s=1.0,
                                    requested_by="test")
            self.producer.produce("routes.day_events", key=key.encode(),
                                  value=request.model_dump_json().encode())
        assert self.producer.flush(10) == 0

    async def until(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        """Plans of every day, every 5 s (a worker plans one day at a time), until `done`."""
        await meanwhile(self.plan_all, done, timeout, what, every=5)


def newest_plans(stack: TestStack, keys: set[str]) -> dict[str, RoutePlanEvent]:
    """The last plan published for each day (a day's plans share a partition: log order)."""
    newest: dict[str, RoutePlanEvent] = {}
    for record in read_all(stack.bootstrap_servers, ["routes.plans"], 1.0):
        if record.key.decode() in keys:
            newest[record.key.decode()] = RoutePlanEvent.model_validate_json(record.value)
    return newest


def stops_of(plan: RoutePlanEvent) -> dict[int, tuple[int, int]]:
    return {s.sales_order_id: (v.vehicle_id, s.sequence) for v in plan.vehicles for s in v.stops}


def windows_of(plan: RoutePlanEvent) -> dict[int, str]:
    """The end of the ETA message's template parameters (order, day, start, end) per order."""
    return {s.sales_order_id: f"{s.eta_start:%H:%M} | {s.eta_end:%H:%M}"
            for v in plan.vehicles for s in v.stops}


async def erp_stops(stack: TestStack, orders: list[int]) -> dict[int, tuple[int, int]]:
    conn = await asyncpg.connect(stack.erp_dsn)
    try:
        rows = await conn.fetch("SELECT sales_order_id, vehicle_id, sequence FROM deliveries "
                                "WHERE sales_order_id = ANY($1::bigint[]) "
                                "AND vehicle_id IS NOT NULL", orders)
    finally:
        await conn.close()
    return {r["sales_order_id"]: (r["vehicle_id"], r["sequence"]) for r in rows}


async def test_each_day_ends_on_one_plan_in_the_erp_while_days_move(
        fresh_stack: TestStack, supervisor: Supervisor) -> None:
    route_date = datetime.now(MEXICO_CITY).date() + timedelta(days=1)
    days = await delivery_days(fresh_stack, route_date)
    phone_of = {order: phone for orders in days.values() for order, phone in orders.items()}
    planner = Planner(fresh_stack, route_date, list(days))
    keys = set(planner.keys)
    mail_server = Controller(Mailbox(), hostname="127.0.0.1", port=free_port())
    mail_server.start()  # the dispatcher's manifests (an outage would hold every message)
    try:
        async with WhatsAppDouble.from_settings(fresh_stack.settings()) as double:
            env = process_env(fresh_stack, WHATSAPP_BASE_URL=double.base_url,
                              SMTP_PORT=str(mail_server.port))
            a = Pipeline(fresh_stack, env["FAUST_WEB_PORT"], supervisor)
            b = Pipeline(fresh_stack, str(free_port()), supervisor)

            def planned(worker: Pipeline) -> Callable[[], bool]:
                return lambda: worker.metric("topllantas_route_plans_total") > 0

            def every_day_planned() -> bool:
                return newest_plans(fresh_stack, keys).keys() == keys

            supervisor.start("cdc", "cdc", "run", env=env)
            supervisor.start("sinks", "worker", "--flows", "sinks",
                             env={**env, "FAUST_WEB_PORT": str(free_port())})
            supervisor.start("routes-a", *ROUTES_FLOW, env=env)
            await eventually(lambda: asyncio.to_thread(web_up, a), 120, "the first worker's web")
            await planner.until(every_day_planned, 120, "a plan of every day")

            supervisor.start("routes-b", *ROUTES_FLOW, env={**env, "FAUST_WEB_PORT": b.port})
            await planner.until(planned(b), 120, "the second worker to plan a day")

            # A leaves: its days move to B, which re-plans them on the next requests
            leaving = asyncio.create_task(asyncio.to_thread(supervisor.stop, "routes-a"))
            await planner.until(leaving.done, 60, "the first worker to stop")
            assert await leaving == 0, "the first worker did not stop cleanly"
            cancelled = [next(iter(orders)) for orders in days.values()]
            conn = await asyncpg.connect(fresh_stack.erp_dsn)
            try:
                await conn.execute("UPDATE sales_orders SET status = 'cancelado' "
                                   "WHERE id = ANY($1::bigint[])", cancelled)
            finally:
                await conn.close()

            # A joins again; B dies while it plans (a request takes about a second per day)
            supervisor.start("routes-a", *ROUTES_FLOW, env=env)
            await planner.until(planned(a), 120, "the first worker to plan again")
            planner.plan_all()
            await asyncio.sleep(1.5)
            supervisor.kill("routes-b")
            planner.plan_all()

            expected_orders = sorted(set(phone_of) - set(cancelled))
            newest: dict[str, RoutePlanEvent] = {}

            async def settled() -> bool:
                nonlocal newest
                newest = await asyncio.to_thread(newest_plans, fresh_stack, keys)
                if newest.keys() != keys or any(
                        o in stops_of(p) for p in newest.values() for o in cancelled):
                    return False
                planned_stops = {o: s for p in newest.values() for o, s in stops_of(p).items()}
                erp = await erp_stops(fresh_stack, list(phone_of))  # cancelled: off every truck
                return erp == planned_stops and set(planned_stops) == set(expected_orders)

            await eventually(settled, 120, "the ERP to hold each day's newest plan")
            await asyncio.sleep(2)  # a late plan or write-back would come now
            assert await settled(), "the ERP or the plans changed after settling"
            notified: dict[str, list[str]] = {}
            for message in double.messages:
                if message["type"] == "template" and \
                        message["body"]["template"]["name"] == ETA_TEMPLATE:
                    notified.setdefault(message["to"], []).append(message["summary"])
    finally:
        mail_server.stop()

    for plan in newest.values():
        for order, window in windows_of(plan).items():
            told = notified.get(phone_of[order], [])
            assert any(f"| {order} |" in told_one and told_one.endswith(window)
                       for told_one in told), (order, window, told)
