"""Rescheduling a delivery on the real ERP: the agent's tool reads the order through the
read-only reader, offers the days the planner can still meet, and its command, applied by the ERP
sink, moves the order's delivery date and puts its delivery back to `pendiente` on the new day —
the sales_orders change the routes flow re-plans both days from. Once per idempotency key; an
order already on its way is refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta

import asyncpg
import pytest

from processors.sales_agent.delivery import MX
from processors.sales_agent.session import TurnSession
from processors.sales_agent.state import ConversationState
from processors.sales_agent.tool_args import RescheduleDeliveryArgs
from processors.sales_agent.tool_results import RescheduleResult
from sinks.backoff import Backoff
from sinks.erp import ErpSink
from sources.erp_reader import ErpReader
from tests.stack_fixture import TestStack

pytestmark = pytest.mark.integration
PHONE = "5219990009261"
CUSTOMER, WAREHOUSE, VEHICLE, ORDER, MOVING = 9261, 9261, 9261, 9_261_001, 9_261_002
NOW = datetime.now(UTC)
TOMORROW = (NOW.astimezone(MX) + timedelta(days=1)).date()

SEED = f"""
INSERT INTO warehouses VALUES ({WAREHOUSE}, 'RSC', 'Sucursal resched', 'Puebla', 'Puebla',
    19.04, -98.2, true) ON CONFLICT DO NOTHING;
INSERT INTO customers (id, name, tier, phone, address, city, state, lat, lon,
                       home_warehouse_id, delivery_window_start, delivery_window_end)
    VALUES ({CUSTOMER}, 'Ana Resched', 'publico', '{PHONE}', 'Calle 2', 'Puebla', 'Puebla',
            19.05, -98.21, {WAREHOUSE}, '10:00', '14:00') ON CONFLICT DO NOTHING;
INSERT INTO vehicles (id, warehouse_id, plate, capacity_tires, capacity_kg)
    VALUES ({VEHICLE}, {WAREHOUSE}, 'RSC-001', 80, 1500) ON CONFLICT DO NOTHING;
INSERT INTO sales_orders (id, customer_id, warehouse_id, status, channel, delivery_date,
                          needs_delivery)
    VALUES ({ORDER}, {CUSTOMER}, {WAREHOUSE}, 'confirmado', 'whatsapp', '{TOMORROW}', true),
           ({MOVING}, {CUSTOMER}, {WAREHOUSE}, 'confirmado', 'whatsapp', '{TOMORROW}', true)
    ON CONFLICT DO NOTHING;
INSERT INTO deliveries (sales_order_id, vehicle_id, route_date, sequence, eta_start, eta_end,
                        status)
    VALUES ({ORDER}, {VEHICLE}, '{TOMORROW}', 1, now(), now() + interval '1 hour', 'asignada'),
           ({MOVING}, {VEHICLE}, '{TOMORROW}', 2, now(), now() + interval '1 hour', 'en_ruta')
    ON CONFLICT DO NOTHING;
"""


@pytest.fixture(scope="module")
async def erp(stack: TestStack) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(stack.erp_dsn)
    await conn.execute(SEED)
    yield conn
    await conn.close()


async def _session(reader: ErpReader, message_id: str) -> TurnSession:
    session = TurnSession(ConversationState(phone=PHONE), reader, now=NOW,
                          message_id=message_id, customer_confirmed=False)
    await session.identify_customer()
    return session


async def test_reschedule_through_the_erp_sink(stack: TestStack,
                                               erp: asyncpg.Connection) -> None:
    async with await ErpReader.connect(stack.reader_dsn) as reader, ErpSink(
            stack.sink_dsn, backoff=Backoff(base_s=0.1, cap_s=1.0)) as sink:
        offer = await (await _session(reader, "wamid.rs1")).run(
            RescheduleDeliveryArgs(order_id=ORDER))
        assert isinstance(offer, RescheduleResult) and offer.outcome == "choose"
        assert offer.current_date == TOMORROW and TOMORROW not in [w.date for w in offer.windows]
        assert all(w.window_start == time(10) and w.window_end == time(14)
                   for w in offer.windows)
        day: date = offer.windows[0].date

        session = await _session(reader, "wamid.rs2")
        await session.run(RescheduleDeliveryArgs(order_id=ORDER, date=day))
        command = session.reschedule
        assert command is not None
        (applied,) = await sink.apply_batch([command])
        assert applied.status == "applied" and applied.entity_ids == [ORDER]
        row = await erp.fetchrow(
            "SELECT o.delivery_date, d.route_date, d.status, d.vehicle_id, d.eta_start "
            "FROM sales_orders o JOIN deliveries d ON d.sales_order_id = o.id WHERE o.id = $1",
            ORDER)
        assert (row["delivery_date"], row["route_date"], row["status"]) == (day, day, "pendiente")
        assert row["vehicle_id"] is None and row["eta_start"] is None

        # Redelivered: nothing written twice (a plan of the new day since is kept).
        await erp.execute("UPDATE deliveries SET status = 'asignada', vehicle_id = $2 "
                          "WHERE sales_order_id = $1", ORDER, VEHICLE)
        (again,) = await sink.apply_batch([command])
        assert again.status == "duplicate"
        assert await erp.fetchval("SELECT status FROM deliveries WHERE sales_order_id = $1",
                                  ORDER) == "asignada"

        # An order whose truck left: the tool refuses, and so does the ERP.
        with pytest.raises(Exception, match="cannot move"):
            await (await _session(reader, "wamid.rs3")).run(
                RescheduleDeliveryArgs(order_id=MOVING))
        forged = command.model_copy(update={"idempotency_key": "wa-reschedule:forged",
                                            "sales_order_id": MOVING})
        (refused,) = await sink.apply_batch([forged])
        assert refused.status == "failed"
        assert await erp.fetchval("SELECT delivery_date FROM sales_orders WHERE id = $1",
                                  MOVING) == TOMORROW
