"""Issue #27, defect 7: a signed but odd webhook body got a 500 and lost its good messages.

Each odd item (a field of the wrong type, a timestamp no date holds, deep nesting) rides in a
batch with a good message: the answer is 200, the good message is on `whatsapp.inbound`, the odd
item on the dead-letter topic with the reason. A signed body that cannot be read at all is kept
whole on `whatsapp.inbound.dlq`.
"""

# ruff: noqa: F811  (the `ingress` fixture is imported from test_sinks_webhook)
from __future__ import annotations

import asyncio
import json
import uuid

import aiohttp
import pytest

from sources.whatsapp_webhook import sign
from tests.integration.test_sinks_webhook import (  # noqa: F401
    INBOUND,
    SECRET,
    STATUS,
    Ingress,
    _post,
    _read,
    ingress,
)
from transport.clients import aiokafka_consumer
from transport.dlq import H_ERROR

pytestmark = pytest.mark.integration


def _good(phone: str, message_id: str) -> dict:
    return {"from": phone, "id": message_id, "timestamp": "1740830400", "type": "text",
            "text": {"body": "Hola"}}


def _batch(messages: list[dict], statuses: list[dict] | None = None) -> bytes:
    value: dict = {"messaging_product": "whatsapp", "messages": messages}
    if statuses:
        value["statuses"] = statuses
    return json.dumps({"object": "whatsapp_business_account",
                       "entry": [{"id": "1", "changes": [{"field": "messages",
                                                          "value": value}]}]}).encode()


async def _dead_letters(ingress: Ingress, topic: str, marker: str, at_least: int,
                        timeout: float = 10.0) -> list[tuple[bytes, str]]:
    """(value, error header) of the dead letters on `topic` whose value holds `marker`."""
    consumer = aiokafka_consumer(ingress.settings, topic)
    await consumer.start()
    found: list[tuple[bytes, str]] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline and len(found) < at_least:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                found += [(r.value, dict(r.headers)[H_ERROR].decode()) for r in records
                          if marker.encode() in r.value]
    finally:
        await consumer.stop()
    return found


ODD_MESSAGES = {
    "interactive_not_an_object": {"type": "interactive", "interactive": "x"},
    "timestamp_of_30_digits": {"type": "text", "text": {"body": "hola"},
                               "timestamp": "9" * 30},
    "text_not_an_object": {"type": "text", "text": ["boom"]},
}


@pytest.mark.parametrize("odd", list(ODD_MESSAGES))
async def test_defect_7_an_odd_message_is_dead_lettered_and_its_batch_mates_enqueued(
        ingress: Ingress, odd: str) -> None:
    phone = "52155" + str(uuid.uuid4().int)[:8]
    marker = uuid.uuid4().hex
    bad = {**_good(phone, f"wamid.bad.{marker}"), **ODD_MESSAGES[odd]}
    body = _batch([_good(phone, f"wamid.{marker}"), bad])
    async with aiohttp.ClientSession() as session:
        status, answer = await _post(session, ingress.url, body, sign(SECRET.encode(), body))
    assert (status, answer) == (200, {"enqueued": 2, "duplicates": 0, "dead_lettered": 1})
    assert len(await _read(ingress.settings, INBOUND, phone.encode(), at_least=1)) == 1
    letters = await _dead_letters(ingress, f"{INBOUND}.dlq", f"wamid.bad.{marker}", 1)
    assert len(letters) == 1 and json.loads(letters[0][0]) == bad and letters[0][1]


async def test_defect_7_a_status_with_odd_errors_is_dead_lettered_alone(
        ingress: Ingress) -> None:
    phone = "52155" + str(uuid.uuid4().int)[:8]
    marker = uuid.uuid4().hex
    status_item = {"id": f"wamid.st.{marker}", "status": "failed", "timestamp": "1740830400",
                   "recipient_id": phone, "errors": ["boom"]}
    body = _batch([_good(phone, f"wamid.{marker}")], [status_item])
    async with aiohttp.ClientSession() as session:
        status, answer = await _post(session, ingress.url, body, sign(SECRET.encode(), body))
    assert (status, answer["dead_lettered"]) == (200, 1)
    assert len(await _read(ingress.settings, INBOUND, phone.encode(), at_least=1)) == 1
    letters = await _dead_letters(ingress, f"{STATUS}.dlq", f"wamid.st.{marker}", 1)
    assert len(letters) == 1 and "AttributeError" in letters[0][1]


async def test_defect_7_a_body_nested_too_deep_is_kept_whole_on_the_dead_letter_topic(
        ingress: Ingress) -> None:
    phone = "52155" + str(uuid.uuid4().int)[:8]
    marker = uuid.uuid4().hex
    deep = {**_good(phone, f"wamid.deep.{marker}"), "context": "@"}
    body = _batch([_good(phone, f"wamid.{marker}"), deep]).replace(
        b'"@"', b"[" * 200_000 + b"]" * 200_000)
    async with aiohttp.ClientSession() as session:
        status, answer = await _post(session, ingress.url, body, sign(SECRET.encode(), body))
        again = await _post(session, ingress.url, body, sign(SECRET.encode(), body))
    assert (status, answer) == (200, {"enqueued": 1, "duplicates": 0, "dead_lettered": 1})
    assert again == (200, {"enqueued": 0, "duplicates": 1, "dead_lettered": 1})
    letters = await _dead_letters(ingress, f"{INBOUND}.dlq", f"wamid.deep.{marker}", 1)
    assert [value for value, _ in letters] == [body]  # the raw body, the good message in it
    assert "RecursionError" in letters[0][1]
