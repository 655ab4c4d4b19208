"""Buyers answer stock alerts on WhatsApp; their morning digest; their attention budget.

alerts.by_buyer (alerts, digest turns, ticks, retried taps; by phone) ┐
whatsapp.inbound (by phone) ──────────────────────────────────────────┴─> tables `buyer_alerts`,
    `buyer_pending_adjust`, `buyer_drafts` (by phone) ─> erp.commands (transfers `tr:<alert_id>`,
    lines `pol:<alert_id>` of the day's draft order `po:<supplier>:<warehouse>:<day>`),
    alerts.control (snoozes, by stock key), messages.outbound and messages.email (replies, digests),
    alerts.by_buyer (taps to retry); which alerts reach the phone, when and how (one message, a
    gathered list, the e-mail past the daily cap, the go-live summary) is decided with the
    table `buyer_attention` in streams/buyer_attention.py

Both sources are keyed by the buyer's phone, so a phone's open alerts and its messages meet on
one worker. `buyer_alerts` holds one row per phone and product×warehouse (`<phone>|<p>:<w>`, the
latest open alert there), so an alert event rewrites one small row; a buyer's message or digest
reads the phone's rows. Messages from phones that are not buyers belong to the sales agent and
are ignored, unless they try a buyer action (a button or «Aprobar todo»): those get a polite
refusal and nothing is written. Everything sent is acknowledged before the tables change, so a
crash in between answers the same message again with the same idempotency keys (the sinks
dedupe).

Nothing orders the two topics against each other. An alert's feed record is written before its
WhatsApp message is sent, so a tap on it always lands after it in the log; but a worker behind on
the feed can read the tap first. Such a tap (on an alert not read yet) goes back onto the phone's
feed as a `retry`, behind the alert's record, and is answered when read there; only then is an
alert still unknown refused. Until that retry is read, the phone's later messages follow it onto
the feed (table `buyer_queued`), so a buyer's messages are answered in the order they were sent:
the quantity typed after an `Ajustar` that waits is read after it, not before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime

from prometheus_client import Counter

from processors.inventory.buyer_digest import morning_digest
from processors.inventory.buyer_intents import Unrecognized, parse_buyer_reply
from processors.inventory.buyer_messages import BuyerResponse, ProductLabel, awaits_feed, respond
from processors.inventory.buyer_orders import command_key
from schemas.alerts import AlertControl, BuyerFeed, StockAlert
from schemas.commands import CommandEnvelope
from schemas.erp import Buyer
from schemas.timezones import MEXICO_CITY
from schemas.whatsapp import InboundMessage
from streams import buyer_attention as attention
from streams.app import app, catalogue
from streams.buyer_orders import keep_drafts, order_book
from streams.dead_letters import decoded
from streams.dimensions import buyer_by_phone, buyers, product_label, supplier_name
from streams.inventory import EVENTS, stock_key
from streams.messages import send_message
from streams.stock_alerts import alert_control, alerts_by_buyer
from streams.topics import raw_source, raw_topic

log = logging.getLogger(__name__)

RETRIED = Counter("topllantas_buyer_taps_retried_total",
                  "Buyer messages answered after the buyer's feed: taps read before their "
                  "alert's feed record, and the phone's messages behind them")

INBOUND = "whatsapp.inbound"
FEED = "alerts.by_buyer"

erp_commands = raw_topic("erp.commands")
buyer_source = raw_source(INBOUND, FEED)

buyer_alerts = app.Table("buyer_alerts", default=None, partitions=catalogue[INBOUND].partitions)
"""`<phone>|<product_id>:<warehouse_id>` -> the open StockAlert (JSON) the buyer can act on."""
pending_adjust = app.Table("buyer_pending_adjust", default=None,
                           partitions=catalogue[INBOUND].partitions)
queued = app.Table("buyer_queued", default=None, partitions=catalogue[INBOUND].partitions)
"""phone -> the id of its newest message sent onto the feed as a `retry` and not read back yet."""


@app.agent(buyer_source)
async def buyer_loop(stream):  # type: ignore[no-untyped-def]
    """Open alerts per buyer phone; buyer replies turned into PO drafts, snoozes and answers."""
    async for event in stream.events():
        if event.value is None or not event.key:
            continue
        phone = event.key.decode()
        feed = event.message.topic == FEED
        record = await decoded(event, "buyer_loop", (
            BuyerFeed if feed else InboundMessage).model_validate_json)
        where = event.message.partition
        if isinstance(record, BuyerFeed):
            await _on_feed(phone, record, where, event.message.timestamp)
        elif isinstance(record, InboundMessage):
            await _on_message(record, retried=False, partition=where)
        else:
            continue
        EVENTS.labels(agent="buyer_loop").inc()


def _open_alerts(phone: str) -> dict[str, tuple[str, StockAlert]]:
    """The phone's open alerts: alert id -> (table key, alert)."""
    prefix = f"{phone}|"
    return {row["alert_id"]: (key, StockAlert.model_validate(row))
            for key, row in list(buyer_alerts.items()) if row and key.startswith(prefix)}


def _lookups(alerts: Mapping[str, StockAlert]) -> tuple[dict[int, ProductLabel], dict[int, str]]:
    labels = {}
    for alert in alerts.values():
        label = product_label(alert.product_id)
        if label is not None:
            labels[alert.product_id] = label
    names = {a.supplier_id: supplier_name(a.supplier_id) for a in alerts.values()}
    return labels, names


def _alerts_of(phone: str) -> dict[str, StockAlert]:
    return {alert_id: alert for alert_id, (_, alert) in _open_alerts(phone).items()}


async def _on_feed(phone: str, feed: BuyerFeed, partition: int, timestamp: float) -> None:
    if feed.kind == "retry":
        if feed.message is not None:
            await _on_message(feed.message, retried=True, partition=partition)
        return
    if feed.kind == "tick":
        await attention.on_tick(phone, partition, feed.at, lambda: _alerts_of(phone),
                                _send_digest)
        return
    if feed.kind == "digest":
        buyer = buyer_by_phone(phone)
        if buyer is not None:
            await _send_digest(buyer, feed.at)
            attention.on_digest(phone, partition, feed.at)
        return
    alert = feed.alert
    if alert is None:
        return
    key = f"{phone}|{alert.product_id}:{alert.warehouse_id}"
    if alert.resolved:
        buyer_alerts.pop(key, None)
    else:
        buyer_alerts[key] = alert.model_dump(mode="json")
    await attention.on_alert(phone, partition, feed, datetime.fromtimestamp(timestamp, UTC),
                             lambda: _alerts_of(phone), _send_digest)


async def _send_digest(buyer: Buyer, at: datetime) -> None:
    alerts = {alert_id: alert for alert_id, (_, alert) in _open_alerts(buyer.phone).items()}
    labels, names = _lookups(alerts)
    whatsapp, email = morning_digest(alerts.values(), buyer=buyer, labels=labels,
                                     supplier_names=names, now=at)
    for message in (whatsapp, email):
        await send_message(message)


async def _on_message(message: InboundMessage, *, retried: bool, partition: int) -> None:
    message = attention.supplier_tap(message)
    phone = message.from_phone
    buyer = buyer_by_phone(phone)
    pending = pending_adjust.get(phone) if buyer else None
    intent = parse_buyer_reply(message, pending)
    if buyer is None and isinstance(intent, Unrecognized):
        return  # a customer: the sales agent answers
    stored = _open_alerts(phone) if buyer else {}
    alerts = {alert_id: alert for alert_id, (_, alert) in stored.items()}
    if retried:
        if queued.get(phone) == message.message_id:
            queued.pop(phone)  # the phone's messages are read here again
    elif buyer is not None and (phone in queued or awaits_feed(intent, alerts)):
        log.info("message %s %s; answering it after the buyer's feed", message.message_id,
                 "follows one that waits" if phone in queued else "taps an alert not read yet")
        RETRIED.inc()
        retry = BuyerFeed(kind="retry", at=message.received_at, message=message)
        await alerts_by_buyer.send(key=phone.encode(), value=retry.model_dump_json().encode())
        queued[phone] = message.message_id
        return
    if buyer is not None:
        await attention.on_buyer_message(phone, partition, message.sent_at,
                                         lambda: _alerts_of(phone), _send_digest)
        if await attention.page_tap(message, buyer, lambda: _alerts_of(phone)):
            return
    labels, names = _lookups(alerts)
    response = respond(intent, phone=phone, buyer=buyer, open_alerts=alerts, labels=labels,
                       supplier_names=names, now=message.sent_at, message_id=message.message_id,
                       orders=order_book(phone, alerts))
    await asyncio.gather(*await _send_response(response, message.sent_at))
    if buyer is None:
        return
    for alert_id in response.approved_alert_ids:
        del buyer_alerts[stored[alert_id][0]]
    keep_drafts(phone, response.drafts)
    if response.pending_adjust != pending:
        if response.pending_adjust is None:
            pending_adjust.pop(phone, None)
        else:
            pending_adjust[phone] = response.pending_adjust


async def _send_response(response: BuyerResponse, at: datetime) -> list[asyncio.Future]:
    sent = []
    for command in response.commands:
        sent.append(await erp_commands.send(
            key=command_key(command),
            value=CommandEnvelope(command=command).model_dump_json().encode()))
    for request in response.snoozes:
        control = AlertControl(kind="snooze", at=at, alert_id=request.alert_id,
                               until=request.until)
        sent.append(await alert_control.send(
            key=stock_key(request.product_id, request.warehouse_id),
            value=control.model_dump_json().encode()))
    sent.append(await send_message(response.reply))
    return sent


@app.crontab("0 7 * * *", timezone=MEXICO_CITY, on_leader=True)
async def morning_digests() -> None:
    """Give every buyer's partition owner its turn to send the morning digest."""
    value = BuyerFeed(kind="digest", at=datetime.now(UTC)).model_dump_json().encode()
    for _, row in sorted(buyers.items()):
        await alerts_by_buyer.send(key=row["phone"].encode(), value=value)
