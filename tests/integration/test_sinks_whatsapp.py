"""The WhatsApp sender against the loopback Cloud API double and the real ledger database."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from pydantic import SecretStr

from ops.doubles.whatsapp_double import WhatsAppDouble
from ops.stack.processes import free_port
from schemas.commands import Button, OutboundMessage
from sinks.backoff import Backoff
from sinks.message_ledger import MessageLedger
from sinks.whatsapp import MappingCustomerWindow, WhatsAppClient, WhatsAppSender
from tests.stack_fixture import TestStack

pytestmark = pytest.mark.integration
TOKEN = "test-token-s3cr3t-value"
PHONE_ID = "100000000000077"
FAST = Backoff(base_s=0.05, cap_s=0.2, jitter=0.0)


@pytest.fixture
async def double() -> AsyncIterator[WhatsAppDouble]:
    async with WhatsAppDouble(access_token=TOKEN, phone_number_id=PHONE_ID) as running:
        yield running


@pytest.fixture
async def ledger(stack: TestStack) -> AsyncIterator[MessageLedger]:
    async with MessageLedger(stack.sink_dsn, lease_s=0.5, poll_s=0.1) as running:
        yield running


@pytest.fixture
def window() -> MappingCustomerWindow:
    return MappingCustomerWindow({})


def _sender(double: WhatsAppDouble, ledger: MessageLedger,
            window: MappingCustomerWindow) -> WhatsAppSender:
    client = WhatsAppClient(double.base_url, "v21.0", PHONE_ID, SecretStr(TOKEN))
    return WhatsAppSender(client, ledger, window, backoff=FAST)


def _phone() -> str:
    return "52155" + str(uuid.uuid4().int)[:8]


def _message(to: str, **kw: object) -> OutboundMessage:
    fields: dict[str, object] = {"text": "Su pedido 1000123 está listo para entrega.",
                                 "template": "pedido_listo", "template_params": ["1000123"]}
    fields.update(kw)
    return OutboundMessage(idempotency_key=f"msg-{uuid.uuid4().hex}", to=to,
                           issued_at=datetime.now(UTC), **fields)  # type: ignore[arg-type]


async def test_same_message_three_times_and_after_a_restart_sends_once(
        double: WhatsAppDouble, ledger: MessageLedger, window: MappingCustomerWindow,
        stack: TestStack) -> None:
    phone = _phone()
    window.record_inbound(phone, datetime.now(UTC))
    double.open_window(phone)
    msg = _message(phone, buttons=[Button(id="si", title="Sí, entréguenlo"),
                                   Button(id="no", title="Otro día")])
    sender = _sender(double, ledger, window)
    results = [await sender.send(msg) for _ in range(3)]
    await sender.close()
    assert [r.status for r in results] == ["sent", "duplicate", "duplicate"]
    assert results[0].provider_message_id and results[0].provider_message_id.startswith("wamid.")
    assert {r.provider_message_id for r in results} == {results[0].provider_message_id}
    # a restarted worker has a new ledger owner and an empty window: still a duplicate
    async with MessageLedger(stack.sink_dsn) as fresh:
        restarted = _sender(double, fresh, MappingCustomerWindow({}))
        assert (await restarted.send(msg)).status == "duplicate"
        await restarted.close()
    sent = [m for m in double.messages if m["to"] == phone]
    assert len(sent) == 1 and sent[0]["type"] == "interactive"


async def test_throttling_and_server_errors_delay_but_never_drop(
        double: WhatsAppDouble, ledger: MessageLedger, window: MappingCustomerWindow) -> None:
    phone = _phone()
    window.record_inbound(phone, datetime.now(UTC))
    double.open_window(phone)
    sender = _sender(double, ledger, window)
    for kind in ("429", "130429", "131056", "500"):
        double.fail_next(2, kind)  # type: ignore[arg-type]
    msgs = [_message(phone, text=f"Mensaje {i}") for i in range(3)]
    results = [await sender.send(m) for m in msgs]
    results += [await sender.send(m) for m in msgs]  # redelivered
    await sender.close()
    assert [r.status for r in results] == ["sent"] * 3 + ["duplicate"] * 3
    assert double.requests == 8 + 3
    bodies = [m["body"]["text"]["body"] for m in double.messages if m["to"] == phone]
    assert bodies == ["Mensaje 0", "Mensaje 1", "Mensaje 2"]


async def test_api_unreachable_for_a_while_then_back(
        ledger: MessageLedger, window: MappingCustomerWindow) -> None:
    phone = _phone()
    window.record_inbound(phone, datetime.now(UTC))
    port = free_port()
    first = WhatsAppDouble(access_token=TOKEN, phone_number_id=PHONE_ID, port=port)
    sender = _sender(first, ledger, window)  # nothing listens on the port yet
    sending = asyncio.create_task(sender.send(_message(phone)))
    await asyncio.sleep(0.5)
    assert not sending.done()
    async with WhatsAppDouble(access_token=TOKEN, phone_number_id=PHONE_ID, port=port) as late:
        late.open_window(phone)
        result = await asyncio.wait_for(sending, 10)
        assert result.status == "sent" and len(late.messages) == 1
    await sender.close()


async def test_reengagement_error_resends_as_template(
        double: WhatsAppDouble, ledger: MessageLedger, window: MappingCustomerWindow) -> None:
    phone = _phone()
    window.record_inbound(phone, datetime.now(UTC))  # we believe the window is open...
    sender = _sender(double, ledger, window)  # ...but the double never heard from them
    result = await sender.send(_message(phone))
    closed_phone = _phone()
    window.record_inbound(closed_phone, datetime.now(UTC) - timedelta(hours=25))
    direct = await sender.send(_message(closed_phone))
    no_template = await sender.send(_message(closed_phone, template=None))
    await sender.close()
    assert (result.status, result.used_template) == ("sent", True)
    assert (direct.status, direct.used_template) == ("sent", True)
    assert double.requests == 3, "131047 once, then the template; the closed window: template"
    template = next(m for m in double.messages if m["to"] == phone)["body"]["template"]
    assert template["name"] == "pedido_listo" and template["language"] == {"code": "es_MX"}
    assert no_template.status == "failed" and "no template" in (no_template.error or "")


async def test_invalid_message_and_api_refusal_fail_with_a_reason(
        double: WhatsAppDouble, ledger: MessageLedger, window: MappingCustomerWindow) -> None:
    phone = _phone()
    window.record_inbound(phone, datetime.now(UTC))
    sender = _sender(double, ledger, window)
    bad = await sender.send(_message(phone, text="x" * 5000))
    refused = await sender.send(_message("12", template="hola", text=None))
    await sender.close()
    assert bad.status == "failed" and "4096" in (bad.error or "")
    assert refused.status == "failed" and "code 100" in (refused.error or "")
    assert double.messages == []


async def test_crash_during_the_call_is_not_resent_but_before_it_is(
        double: WhatsAppDouble, ledger: MessageLedger, window: MappingCustomerWindow,
        stack: TestStack) -> None:
    phone = _phone()
    window.record_inbound(phone, datetime.now(UTC))
    double.open_window(phone)
    in_call, before_call = _message(phone, text="en vuelo"), _message(phone, text="reclamado")
    async with MessageLedger(stack.sink_dsn, lease_s=0.5) as crashed:
        for msg in (in_call, before_call):
            assert (await crashed.claim(msg.idempotency_key, "whatsapp", phone)).acquired
        await crashed.mark_sending(in_call.idempotency_key)
        # ...and the worker dies here, without settling either claim
    sender = _sender(double, ledger, window)
    unknown = await sender.send(in_call)  # waits out the lease, then refuses to guess
    again = await sender.send(in_call)
    resumed = await sender.send(before_call)  # nothing went out before the crash: sent now
    await sender.close()
    assert unknown.status == "failed" and "stopped during the provider call" in (
        unknown.error or "")
    assert again.status == "duplicate"
    assert resumed.status == "sent"
    assert [m["body"]["text"]["body"] for m in double.messages] == ["reclamado"]


async def test_cancelled_while_waiting_is_resumed_by_the_redelivery(
        double: WhatsAppDouble, ledger: MessageLedger, window: MappingCustomerWindow,
        stack: TestStack) -> None:
    phone = _phone()
    window.record_inbound(phone, datetime.now(UTC))
    double.open_window(phone)
    double.fail_next(3, "500")
    client = WhatsAppClient(double.base_url, "v21.0", PHONE_ID, SecretStr(TOKEN))
    patient = WhatsAppSender(client, ledger, window, backoff=Backoff(base_s=5.0, jitter=0.0))
    msg = _message(phone)
    waiting = asyncio.create_task(patient.send(msg))  # first attempt fails, then waits 5 s
    erp = await asyncpg.connect(stack.erp_dsn)
    status = "SELECT status FROM topllantas.sent_messages WHERE idempotency_key = $1"
    while double.requests < 1 or await erp.fetchval(status, msg.idempotency_key) != "claimed":
        await asyncio.sleep(0.01)  # until the 500 came back and the claim is held again
    await erp.close()
    waiting.cancel()  # e.g. a rebalance took the partition away
    with pytest.raises(asyncio.CancelledError):
        await waiting
    sender = _sender(double, ledger, window)
    assert (await sender.send(msg)).status == "sent"  # same process: no lease to wait out
    await sender.close()
    await patient.close()
    assert len(double.messages) == 1


async def test_the_token_is_never_logged(double: WhatsAppDouble, ledger: MessageLedger,
                                         window: MappingCustomerWindow,
                                         caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    phone = _phone()
    window.record_inbound(phone, datetime.now(UTC))
    double.open_window(phone)
    double.fail_next(1, "500")
    sender = _sender(double, ledger, window)
    assert (await sender.send(_message(phone))).status == "sent"
    assert TOKEN not in repr(sender._client)
    await sender.close()
    assert caplog.records and TOKEN not in caplog.text
