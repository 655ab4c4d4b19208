"""Property tests: any body POSTed to the WhatsApp webhook is enqueued, or refused with a reason.

Two layers: the pure parser (`parse_notification`: a notification, single bad items as rejects
with a reason, or `InvalidNotification`) and the signed aiohttp app in-process (200 with every
item enqueued, else 400/401/413 with `{"error": reason}`; never a 500). The producer is a
recording stand-in: this tests the HTTP layer's verdicts, the broker path has its integration test.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from schemas.settings import Settings
from sources.whatsapp_webhook.app import WEBHOOK_PATH, build_webhook_app
from sources.whatsapp_webhook.notifications import InvalidNotification, parse_notification
from sources.whatsapp_webhook.signature import HEADER, sign
from transport.dlq import H_ERROR

FAST = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
NOW = datetime(2026, 11, 24, 17, 45, tzinfo=UTC)
INJECTION = ["'; DROP TABLE customers; --", "<script>x</script>", "${jndi:ldap://a}", "\x00",
             "\u202e", "🛞" * 30, "Ω≈ç√∫" * 10, "x" * 5000]

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                    st.text(max_size=30), st.sampled_from(INJECTION))
anything = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8)


def _mostly(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(valid, valid, valid, anything)


timestamps = _mostly(st.integers(1_600_000_000, 1_900_000_000).map(str))
messages = st.fixed_dictionaries({
    "from": _mostly(st.sampled_from(["5218120007919", "5213310000042"])),
    "id": _mostly(st.text(min_size=1, max_size=20).map(lambda t: f"wamid.{t}")),
    "timestamp": timestamps,
    "type": _mostly(st.sampled_from(["text", "interactive", "button", "image"])),
}, optional={
    "text": _mostly(st.fixed_dictionaries({"body": _mostly(st.text(max_size=200))})),
    "interactive": _mostly(st.fixed_dictionaries({"button_reply": _mostly(
        st.fixed_dictionaries({"id": st.text(max_size=10), "title": st.text(max_size=20)}))})),
    "button": _mostly(st.fixed_dictionaries({"payload": scalars, "text": scalars})),
})
statuses = st.fixed_dictionaries({
    "id": _mostly(st.text(min_size=1, max_size=20)),
    "status": _mostly(st.sampled_from(["sent", "delivered", "read", "failed", "deleted"])),
    "timestamp": timestamps,
    "recipient_id": _mostly(st.just("5218120007919")),
}, optional={"errors": _mostly(st.lists(st.fixed_dictionaries(
    {"code": _mostly(st.integers(0, 200_000)), "title": scalars}), max_size=2))})
values = st.fixed_dictionaries({}, optional={
    "messaging_product": st.just("whatsapp"),
    "contacts": _mostly(st.lists(st.fixed_dictionaries(
        {"wa_id": scalars, "profile": _mostly(st.fixed_dictionaries({"name": scalars}))}),
        max_size=2)),
    "messages": _mostly(st.lists(_mostly(messages), max_size=3)),
    "statuses": _mostly(st.lists(_mostly(statuses), max_size=3)),
})
notifications = st.fixed_dictionaries({
    "object": st.just("whatsapp_business_account"),
    "entry": _mostly(st.lists(_mostly(st.fixed_dictionaries(
        {"id": st.just("1"), "changes": _mostly(st.lists(_mostly(st.fixed_dictionaries(
            {"field": st.just("messages"), "value": _mostly(values)})), max_size=2))})),
        max_size=2)),
})


def _items(payload: dict[str, Any], name: str) -> int:
    return sum(len(change["value"].get(name) or []) for entry in payload["entry"]
               for change in entry["changes"])


@FAST
@given(st.one_of(notifications, notifications, anything))
def test_parse_keeps_every_item_or_refuses_the_body_with_a_reason(payload: Any) -> None:
    try:
        out = parse_notification(payload, NOW)
    except (InvalidNotification, ValueError) as exc:
        assert str(exc).strip()
        return
    assert len(out.messages) + len(out.statuses) + len(out.rejects) == (
        _items(payload, "messages") + _items(payload, "statuses"))
    for kind, item, reason in out.rejects:
        assert kind in ("message", "status") and isinstance(item, dict) and reason.strip()


class RecordingProducer:
    """Stands in for the started AIOKafkaProducer: every send is acknowledged at once."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes | None, list[tuple[str, bytes]] | None]] = []

    async def send(self, topic: str, value: bytes, key: bytes | None = None,
                   headers: list[tuple[str, bytes]] | None = None) -> asyncio.Future[None]:
        self.sent.append((topic, value, key, headers))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


@pytest.fixture(scope="module")
def webhook() -> Iterator[tuple[asyncio.AbstractEventLoop, TestClient, RecordingProducer]]:
    loop = asyncio.new_event_loop()
    producer = RecordingProducer()

    async def start() -> TestClient:
        app = build_webhook_app(Settings(), producer)  # type: ignore[arg-type]
        client = TestClient(TestServer(app))
        await client.start_server()
        return client

    client = loop.run_until_complete(start())
    yield loop, client, producer
    loop.run_until_complete(client.close())
    loop.close()


SECRET = Settings().whatsapp_app_secret.get_secret_value().encode()
bodies = st.one_of(notifications.map(lambda p: json.dumps(p).encode()),
                   anything.map(lambda p: json.dumps(p).encode()),
                   st.binary(max_size=200), st.just(b"{" * 20_000),
                   st.just(b"[" * 20_000 + b"]" * 20_000),
                   st.just(b'{"entry":' + b"[" * 20_000 + b"]" * 20_000 + b"}"),
                   st.just(b'{"entry":[' + b'{"changes":[]},' * 60_000 + b'{"changes":[]}]}'),
                   st.just(b"x" * (1024 * 1024 + 1)))


def _post(webhook: tuple[asyncio.AbstractEventLoop, TestClient, RecordingProducer], body: bytes,
          signature: str | None) -> tuple[int, dict[str, Any]]:
    loop, client, _ = webhook

    async def call() -> tuple[int, dict[str, Any]]:
        headers = {"Content-Type": "application/json"} | ({HEADER: signature} if signature
                                                          else {})
        resp = await client.post(WEBHOOK_PATH, data=body, headers=headers)
        return resp.status, await resp.json(content_type=None)

    return loop.run_until_complete(call())


@FAST
@given(bodies)
def test_signed_post_is_enqueued_or_refused_with_a_reason(webhook, body: bytes) -> None:  # type: ignore[no-untyped-def]
    producer = webhook[2]
    before = len(producer.sent)
    status, answer = _post(webhook, body, sign(SECRET, body))
    sent = producer.sent[before:]
    if status == 200:
        assert answer["enqueued"] == len(sent)
        for topic, _value, _key, headers in sent:
            if topic.endswith(".dlq"):
                assert dict(headers or [])[H_ERROR].strip()
    else:
        assert status in (400, 413) and answer["error"].strip() and not sent


@FAST
@given(bodies, st.one_of(st.none(), st.text(st.characters(min_codepoint=32, max_codepoint=126),
                                            max_size=80), st.just("sha256=" + "0" * 64)))
def test_unsigned_or_badly_signed_post_enqueues_nothing(webhook, body: bytes,  # type: ignore[no-untyped-def]
                                                        signature: str | None) -> None:
    assume(len(body) <= 1024 * 1024)
    producer = webhook[2]
    before = len(producer.sent)
    status, answer = _post(webhook, body, signature)
    assert status == 401 and answer["error"].strip() and len(producer.sent) == before

