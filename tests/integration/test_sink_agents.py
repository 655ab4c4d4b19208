"""The sink agents inside a real worker: commands reach the ERP once, messages reach the
WhatsApp double once, and an inbound message opens the customer's 24-hour window."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
import pytest
from confluent_kafka import Producer

from ops.doubles.whatsapp_double import WhatsAppDouble
from ops.supervisor import Supervisor
from schemas.commands import (
    CommandEnvelope,
    CreatePurchaseOrderDraft,
    OutboundMessage,
    PurchaseLine,
)
from schemas.whatsapp import InboundMessage
from tests.integration.conftest import process_env
from tests.integration.kafka_read import read_all
from tests.stack_fixture import TestStack

pytestmark = pytest.mark.integration
PHONE = "5218111111111"


async def eventually(check, timeout: float = 60.0,  # type: ignore[no-untyped-def]
                     what: str = "the condition"):
    """Await `check()` until it is truthy, without blocking the loop (doubles answer on it)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.3)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


async def meanwhile(act, done, timeout: float, what: str,  # type: ignore[no-untyped-def]
                    every: float) -> None:
    """`act()` every `every` seconds until `done()` (checked before each), for `timeout` s."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not done():
        if asyncio.get_running_loop().time() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        act()
        await asyncio.sleep(every)


async def test_commands_and_messages_flow_once(fresh_stack: TestStack,
                                               supervisor: Supervisor) -> None:
    settings = fresh_stack.settings()
    now = datetime.now(UTC)
    async with WhatsAppDouble.from_settings(settings) as double:
        supervisor.start("worker", "worker", env=process_env(
            fresh_stack, WHATSAPP_BASE_URL=double.base_url))
        producer = Producer({"bootstrap.servers": fresh_stack.bootstrap_servers,
                            "partitioner": "murmur2_random"})
        command = CommandEnvelope(command=CreatePurchaseOrderDraft(
            idempotency_key="po:test-alert-1", issued_at=now, supplier_id=1, warehouse_id=1,
            lines=[PurchaseLine(product_id=1, qty=8, unit_cost=100)]))
        template = OutboundMessage(
            idempotency_key="msg:test-1", to=PHONE, text="Hola", template="alerta_inventario",
            template_params=["x"], issued_at=now)
        for _ in range(3):  # a redelivered command / message
            producer.produce("erp.commands", key=b"po:1:1", value=command.model_dump_json())
            producer.produce("messages.outbound", key=PHONE.encode(),
                             value=template.model_dump_json())
        producer.flush(10)

        conn = await asyncpg.connect(fresh_stack.erp_dsn)
        try:
            await eventually(lambda: conn.fetchval(
                "SELECT count(*) FROM purchase_orders WHERE idempotency_key = 'po:test-alert-1'"))
            await asyncio.sleep(2)
            assert await conn.fetchval(
                "SELECT count(*) FROM purchase_orders WHERE idempotency_key = 'po:test-alert-1'"
            ) == 1
        finally:
            await conn.close()

        async def logged() -> list:
            return [m for m in double.messages if m["to"] == PHONE]

        first = await eventually(logged)
        await asyncio.sleep(2)
        assert len(await logged()) == 1
        assert first[0]["type"] == "template"  # no inbound yet: outside the 24-hour window

        inbound = InboundMessage(message_id="wamid.in.1", from_phone=PHONE, kind="text",
                                 text="hola", sent_at=datetime.now(UTC),
                                 received_at=datetime.now(UTC))
        producer.produce("whatsapp.inbound", key=PHONE.encode(), value=inbound.model_dump_json())
        producer.flush(10)
        double.open_window(PHONE)
        await asyncio.sleep(3)
        text = OutboundMessage(idempotency_key="msg:test-2", to=PHONE, text="Con gusto",
                               template="alerta_inventario", issued_at=datetime.now(UTC))
        producer.produce("messages.outbound", key=PHONE.encode(), value=text.model_dump_json())
        producer.flush(10)
        second = await eventually(lambda: _nth(logged, 2))
        assert second[1]["type"] == "text"  # inside the window: free-form text

    results = read_all(fresh_stack.bootstrap_servers, ["erp.commands.results"])
    statuses = sorted(CommandResultStatus(r.value) for r in results
                      if r.key == b"po:test-alert-1")
    assert statuses.count("applied") == 1 and statuses.count("duplicate") == 2


async def _nth(fetch, n: int):  # type: ignore[no-untyped-def]
    items = await fetch()
    return items if len(items) >= n else None


def CommandResultStatus(value: bytes) -> str:  # noqa: N802
    from schemas.commands import CommandResult

    return CommandResult.model_validate_json(value).status
