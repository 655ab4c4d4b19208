"""The WhatsApp webhook ingress on the real broker, called by the Cloud API double."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web
from aiokafka import AIOKafkaProducer

from ops.doubles.whatsapp_double import WhatsAppDouble
from ops.stack.processes import free_port
from ops.topics_admin import apply_catalogue
from schemas.settings import Settings
from schemas.whatsapp import InboundMessage, StatusUpdate
from sources.whatsapp_webhook import (
    HEADER,
    WEBHOOK_PATH,
    build_webhook_app,
    run_webhook,
    sign,
    webhook_producer,
)
from tests.stack_fixture import TestStack
from transport.clients import aiokafka_consumer

pytestmark = pytest.mark.integration
SECRET = "webhook-test-secret"
VERIFY = "webhook-verify-token"
INBOUND, STATUS = "whatsapp.inbound", "whatsapp.status"


@dataclass
class Ingress:
    url: str
    settings: Settings
    producer: AIOKafkaProducer


@pytest.fixture(scope="module")
async def ingress(stack: TestStack) -> AsyncIterator[Ingress]:
    settings = stack.settings(WHATSAPP_APP_SECRET=SECRET, WHATSAPP_WEBHOOK_VERIFY_TOKEN=VERIFY)
    apply_catalogue(settings)
    producer = webhook_producer(settings)
    await producer.start()
    runner = web.AppRunner(build_webhook_app(settings, producer))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield Ingress(f"http://127.0.0.1:{port}{WEBHOOK_PATH}", settings, producer)
    finally:
        await runner.cleanup()
        await producer.stop()


async def _read(settings: Settings, topic: str, key_wanted: bytes, at_least: int,
                timeout: float = 10.0) -> list[bytes]:
    """Every value under `key_wanted` on `topic`, waiting until `at_least` arrived; then a bit
    more, to catch anything that should not be there."""
    consumer = aiokafka_consumer(settings, topic)
    await consumer.start()
    values: list[bytes] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        settle: float | None = None
        while loop.time() < deadline and (settle is None or loop.time() < settle):
            batches = await consumer.getmany(timeout_ms=200)
            values += [r.value for rs in batches.values() for r in rs if r.key == key_wanted]
            if settle is None and len(values) >= at_least:
                settle = loop.time() + 1.0
    finally:
        await consumer.stop()
    return values


async def _post(session: aiohttp.ClientSession, url: str, body: bytes,
                signature: str | None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers[HEADER] = signature
    async with session.post(url, data=body, headers=headers) as resp:
        return resp.status, await resp.json()


def _notification(phone: str, message_id: str, text: str) -> bytes:
    return json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [
        {"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "contacts": [{"profile": {"name": "Luis"}, "wa_id": phone}],
            "messages": [{"from": phone, "id": message_id, "timestamp": "1740830400",
                          "type": "text", "text": {"body": text}}]}}]}]}).encode()


async def test_verification_handshake(ingress: Ingress) -> None:
    async with aiohttp.ClientSession() as session:
        ok = {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"}
        async with session.get(ingress.url, params=ok) as resp:
            assert (resp.status, await resp.text()) == (200, "1158201444")
        async with session.get(ingress.url, params={**ok, "hub.verify_token": "nope"}) as resp:
            assert resp.status == 403


async def test_run_webhook_serves_until_cancelled(ingress: Ingress) -> None:
    port = free_port()
    serving = asyncio.create_task(run_webhook(ingress.settings, "127.0.0.1", port))
    params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "42"}
    async with aiohttp.ClientSession() as session:
        for _ in range(100):
            try:
                async with session.get(f"http://127.0.0.1:{port}{WEBHOOK_PATH}",
                                       params=params) as resp:
                    assert await resp.text() == "42"
                    break
            except aiohttp.ClientConnectorError:
                await asyncio.sleep(0.05)
        else:
            pytest.fail("run_webhook did not start listening")
    serving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await serving


async def test_bad_requests_are_refused_and_nothing_reaches_the_topics(ingress: Ingress) -> None:
    phone = "52155" + str(uuid.uuid4().int)[:8]
    secret = SECRET.encode()
    good = _notification(phone, f"wamid.{uuid.uuid4().hex}", "Hola, ¿precio de 195/65R15?")
    forged = _notification(phone, f"wamid.{uuid.uuid4().hex}", "forjado")
    async with aiohttp.ClientSession() as session:
        assert (await _post(session, ingress.url, forged, sign(b"wrong", forged)))[0] == 401
        assert (await _post(session, ingress.url, forged, None))[0] == 401
        huge = b'{"entry": [' + b" " * (5 * 1024 * 1024) + b"]}"
        assert (await _post(session, ingress.url, huge, sign(secret, huge)))[0] == 413
        status, answer = await _post(session, ingress.url, b"{not json", sign(secret, b"{not json"))
        assert (status, answer["dead_lettered"]) == (200, 1)  # kept on whatsapp.inbound.dlq
        first = await _post(session, ingress.url, good, sign(secret, good))
        replayed = await _post(session, ingress.url, good, sign(secret, good))
    assert first == (200, {"enqueued": 1, "duplicates": 0})
    assert replayed == (200, {"enqueued": 0, "duplicates": 1})
    values = await _read(ingress.settings, INBOUND, phone.encode(), at_least=1)
    assert len(values) == 1, "one record: no forged, oversized, invalid or replayed one"
    message = InboundMessage.model_validate_json(values[0])
    assert (message.text, message.contact_name) == ("Hola, ¿precio de 195/65R15?", "Luis")


async def test_double_calls_back_with_replies_and_statuses(ingress: Ingress) -> None:
    phone = "52155" + str(uuid.uuid4().int)[:8]
    settings = ingress.settings
    async with WhatsAppDouble.from_settings(settings, webhook_url=ingress.url,
                                            status_delay_s=0.01) as double:
        text_id = await double.simulate_inbound(phone, text="¿Tienen llantas para Aveo 2015?")
        button_id = await double.simulate_inbound(phone, button_id="reservar",
                                                  button_title="Reservar")
        async with aiohttp.ClientSession() as session:
            url = f"{double.base_url}/v21.0/{settings.whatsapp_phone_number_id}/messages"
            headers = {"Authorization": "Bearer "
                       + settings.whatsapp_access_token.get_secret_value()}
            body = {"messaging_product": "whatsapp", "to": phone, "type": "text",
                    "text": {"body": "Sí, tenemos 185/65R14."}}
            async with session.post(url, json=body, headers=headers) as resp:
                assert resp.status == 200
                wamid = (await resp.json())["messages"][0]["id"]
            async with session.get(f"{double.base_url}/_double/") as resp:
                assert "185/65R14" in await resp.text()
        while len(double.webhook_calls) < 5:
            await asyncio.sleep(0.02)
    assert {status for _, status in double.webhook_calls} == {200}
    inbound = [InboundMessage.model_validate_json(v)
               for v in await _read(settings, INBOUND, phone.encode(), at_least=2)]
    assert [(m.message_id, m.kind, m.button_id) for m in inbound] == [
        (text_id, "text", None), (button_id, "interactive", "reservar")]
    statuses = [StatusUpdate.model_validate_json(v)
                for v in await _read(settings, STATUS, wamid.encode(), at_least=3)]
    assert [s.status for s in statuses] == ["sent", "delivered", "read"]
    assert {s.recipient for s in statuses} == {phone}
