"""The sink agents inside a real worker: commands reach the ERP once, messages reach the
WhatsApp double once, an inbound message opens the customer's 24-hour window, and a mail server
that is down holds no WhatsApp message."""

from __future__ import annotations

import asyncio
import inspect
from datetime import UTC, datetime

import asyncpg
import pytest
from aiosmtpd.controller import Controller
from confluent_kafka import Producer

from ops.doubles.whatsapp_double import WhatsAppDouble
from ops.stack.processes import free_port
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
from tests.integration.test_sinks_email import Mailbox
from tests.stack_fixture import TestStack

pytestmark = pytest.mark.integration
PHONE = "5218111111111"


async def eventually(check, timeout: float = 60.0,  # type: ignore[no-untyped-def]
                     what: str = "the condition"):
    """Call `check()` (a plain or an async function) until it is truthy, without blocking the
    loop (doubles answer on it)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        await asyncio.sleep(0.3)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


async def at_least(fetch, n: int):  # type: ignore[no-untyped-def]
    """`await fetch()` if it holds `n` items or more, else None (a check for `eventually`)."""
    items = await fetch()
    return items if len(items) >= n else None


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
        second = await eventually(lambda: at_least(logged, 2))
        assert second[1]["type"] == "text"  # inside the window: free-form text
        supervisor.stop("worker")  # before the double goes: not retrying into a closed port

    results = read_all(fresh_stack.bootstrap_servers, ["erp.commands.results"])
    statuses = sorted(CommandResultStatus(r.value) for r in results
                      if r.key == b"po:test-alert-1")
    assert statuses.count("applied") == 1 and statuses.count("duplicate") == 2


async def test_an_smtp_outage_holds_no_whatsapp_message_and_loses_no_mail(
        fresh_stack: TestStack, supervisor: Supervisor) -> None:
    """While the mail server is down (an e-mail is retried for up to 15 minutes) customers
    still get their WhatsApp messages: e-mail has its own topic and sink agent. Once the server
    is back every e-mail goes out, once."""
    smtp_port = free_port()  # nobody listens yet
    now = datetime.now(UTC)
    phones = [f"52181222000{i:02d}" for i in range(4)]
    async with WhatsAppDouble.from_settings(fresh_stack.settings()) as double:
        supervisor.start("worker", "worker", "--flows", "sinks", env=process_env(
            fresh_stack, WHATSAPP_BASE_URL=double.base_url, SMTP_PORT=str(smtp_port)))
        producer = Producer({"bootstrap.servers": fresh_stack.bootstrap_servers,
                            "partitioner": "murmur2_random"})
        warm_up = OutboundMessage(idempotency_key="msg:outage-warm-up", to=PHONE, text="Hola",
                                  template="alerta_inventario", issued_at=now)
        producer.produce("messages.outbound", key=PHONE.encode(),
                         value=warm_up.model_dump_json())
        producer.flush(10)
        await eventually(lambda: double.messages, 90, "the worker to send")
        mail = OutboundMessage(idempotency_key="mail:outage-1", channel="email",
                               to="despacho@topllantas.mx", subject="Manifiesto",
                               text="Rutas de mañana", issued_at=now)
        producer.produce("messages.email", key=mail.to.encode(), value=mail.model_dump_json())
        producer.flush(10)
        await asyncio.sleep(3)  # the worker is retrying the e-mail
        for n, phone in enumerate(phones):  # WhatsApp to customers; more mail queued behind
            message = OutboundMessage(
                idempotency_key=f"msg:outage-{n}", to=phone, text="Aviso",
                template="alerta_inventario", template_params=[str(n)], issued_at=now)
            producer.produce("messages.outbound", key=phone.encode(),
                             value=message.model_dump_json())
            more = mail.model_copy(update={"idempotency_key": f"mail:outage-{n + 2}"})
            producer.produce("messages.email", key=mail.to.encode(), value=more.model_dump_json())
        producer.flush(10)

        await eventually(lambda: {m["to"] for m in double.messages} >= set(phones), 60,
                         "the WhatsApp messages while the mail server is down")
        box = Mailbox()
        controller = Controller(box, hostname="127.0.0.1", port=smtp_port)
        controller.start()
        try:
            await eventually(lambda: len(box.delivered) >= 1 + len(phones), 90,
                             "every e-mail once the server is back")
            await asyncio.sleep(2)
        finally:
            controller.stop()
    ids = [m["Message-ID"] for m in box.delivered]
    assert len(ids) == len(set(ids)) == 1 + len(phones)
    assert sorted(m["to"] for m in double.messages if m["to"] in phones) == sorted(phones)


def CommandResultStatus(value: bytes) -> str:  # noqa: N802
    from schemas.commands import CommandResult

    return CommandResult.model_validate_json(value).status
