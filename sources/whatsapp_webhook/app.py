"""The WhatsApp webhook ingress: Meta's callbacks onto `whatsapp.inbound` / `whatsapp.status`.

GET answers the subscription handshake. POST checks the signature over the raw body (401 and
nothing enqueued when it is missing or wrong), bounds the body (413), parses it, drops ids seen
recently (Meta redelivers), enqueues every event and waits for the broker's acknowledgement
before answering 200. When the broker does not acknowledge, it answers 503 so that Meta delivers
again. Each item is validated alone: one that cannot be read goes to its topic's dead-letter
topic with the reason and the batch's good items are enqueued. A signed body that cannot be read
at all (not JSON, nested too deep for the parser, not a notification) goes whole to
`whatsapp.inbound.dlq`: redelivering it would only fail again, so the answer is 200 there too.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime
from typing import NamedTuple

from aiohttp import web
from aiokafka import AIOKafkaProducer

from schemas.settings import Settings
from schemas.topics import load_catalogue
from sources.whatsapp_webhook.dedupe import RecentIds
from sources.whatsapp_webhook.notifications import (
    InvalidNotification,
    Notification,
    parse_notification,
)
from sources.whatsapp_webhook.signature import HEADER, signature_valid
from transport.clients import aiokafka_producer
from transport.dlq import dead_letter_headers, dlq_topic

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhook/whatsapp"
MAX_BODY = 1024 * 1024
STAGE = "whatsapp_webhook"


class Event(NamedTuple):
    dedupe_key: str
    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]


class WebhookIngress:
    def __init__(self, settings: Settings, producer: AIOKafkaProducer,
                 recent: RecentIds | None = None) -> None:
        catalogue = load_catalogue()
        self.inbound_topic = catalogue["whatsapp.inbound"].name
        self.status_topic = catalogue["whatsapp.status"].name
        self._producer = producer
        self._app_secret = settings.whatsapp_app_secret.get_secret_value().encode()
        self._verify_token = settings.whatsapp_verify_token.get_secret_value().encode()
        self._recent = recent or RecentIds()

    async def verify(self, request: web.Request) -> web.Response:
        query = request.query
        token = query.get("hub.verify_token", "").encode()
        if (self._verify_token and query.get("hub.mode") == "subscribe"
                and hmac.compare_digest(token, self._verify_token)):
            return web.Response(text=query.get("hub.challenge", ""))
        return web.Response(status=403, text="verification failed")

    async def receive(self, request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > MAX_BODY:
            return _problem(413, f"body larger than {MAX_BODY} bytes")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _problem(413, f"body larger than {MAX_BODY} bytes")
        if not (self._app_secret  # an empty key signs nothing: anyone could compute it
                and signature_valid(self._app_secret, body, request.headers.get(HEADER))):
            return _problem(401, f"missing or invalid {HEADER}")
        try:
            notification = parse_notification(json.loads(body), datetime.now(UTC))
        except (ValueError, RecursionError, InvalidNotification) as exc:
            reason = f"invalid notification: {type(exc).__name__}: {exc}"
            events = [Event(f"b:{hashlib.sha256(body).hexdigest()}",
                            dlq_topic(self.inbound_topic), None, body,
                            dead_letter_headers(reason, self.inbound_topic, None, None, STAGE))]
            return await self._enqueue_fresh(events, dead_lettered=1)
        events = self._events(notification)
        return await self._enqueue_fresh(events, dead_lettered=len(notification.rejects))

    def _events(self, notification: Notification) -> list[Event]:
        events: list[Event] = []
        for msg in notification.messages:
            events.append(Event(f"m:{msg.message_id}", self.inbound_topic,
                                msg.from_phone.encode(), msg.model_dump_json().encode(), []))
        for status in notification.statuses:
            events.append(Event(f"s:{status.message_id}:{status.status}", self.status_topic,
                                status.message_id.encode(), status.model_dump_json().encode(),
                                []))
        for kind, item, reason in notification.rejects:
            topic = self.inbound_topic if kind == "message" else self.status_topic
            raw = json.dumps(item).encode()  # keyed by content: two id-less items are two
            events.append(Event(f"r:{kind}:{hashlib.sha256(raw).hexdigest()}", dlq_topic(topic),
                                None, raw, dead_letter_headers(reason, topic, None, None, STAGE)))
        return events

    async def _enqueue_fresh(self, events: list[Event], dead_lettered: int) -> web.Response:
        fresh = [e for e in events if self._recent.add(e.dedupe_key)]
        try:
            await self._enqueue(fresh)
        except Exception as exc:
            for event in fresh:
                self._recent.forget(event.dedupe_key)
            log.warning("webhook enqueue failed (%s: %s); answering 503 so Meta retries",
                        type(exc).__name__, exc)
            return _problem(503, "could not enqueue, retry later")
        answer = {"enqueued": len(fresh), "duplicates": len(events) - len(fresh)}
        return web.json_response({**answer, "dead_lettered": dead_lettered}
                                 if dead_lettered else answer)

    async def _enqueue(self, events: list[Event]) -> None:
        futures = [await self._producer.send(e.topic, e.value, key=e.key,
                                             headers=e.headers or None) for e in events]
        if futures:
            await asyncio.gather(*futures)


def _problem(status: int, reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=status)


def build_webhook_app(settings: Settings, producer: AIOKafkaProducer, *,
                      recent: RecentIds | None = None) -> web.Application:
    """The aiohttp app; `producer` must be started (and is stopped) by the caller."""
    ingress = WebhookIngress(settings, producer, recent)
    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_get(WEBHOOK_PATH, ingress.verify)
    app.router.add_post(WEBHOOK_PATH, ingress.receive)
    app.router.add_get("/healthz", _health)
    return app


async def _health(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def webhook_producer(settings: Settings) -> AIOKafkaProducer:
    """The ingress's producer: no linger, since every request waits for its own ack."""
    return aiokafka_producer(settings, linger_ms=0)


async def run_webhook(settings: Settings, host: str, port: int) -> None:
    """Serve the webhook until cancelled, with its own producer. Refuses (`InsecureSettings`)
    to listen beyond loopback with an empty or development app secret or verify token."""
    settings.check_webhook_bind(host)
    producer = webhook_producer(settings)
    await producer.start()
    runner = web.AppRunner(build_webhook_app(settings, producer), access_log=None)
    try:
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        log.info("WhatsApp webhook listening on http://%s:%d%s", host, port, WEBHOOK_PATH)
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        await producer.stop()
