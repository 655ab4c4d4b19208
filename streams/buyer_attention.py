"""The buyer's attention budget in the buyer loop: few WhatsApp messages, each worth acting on.

Called by `streams/buyer_loop.py` (the agent of `alerts.by_buyer` and `whatsapp.inbound`, both
keyed by the buyer's phone), so one phone's alerts, messages and clock ticks are decided on one
worker, in order:

alerts.by_buyer: alert ─────┐ table `buyer_attention` (phone -> processors/inventory/attention.py
  (critical route only)     │   state: counters, the gathering window, items behind the opener)
alerts.by_buyer: tick ──────┤ ─> messages.outbound (the first critical at once, the window's
  (timer below, every 5 s,  │     others as one list, the opener template, the go-live summary)
   when something is due)   │   messages.email (criticals past the daily cap, the go-live CSV)
whatsapp.inbound ───────────┘ table `buyer_lists` (list key -> its alert ids, for «Ver N más»)

Everything sent is acknowledged by the broker before the table changes; sends are keyed by the
state's per-buyer sequence (or `alert:<event_id>:<phone>` for one critical), so a crash in
between sends the same keys again and the sinks deduplicate: a window open at a SIGKILL is
released once by the worker that takes the phone over, with every item.

Alerts of the first evaluation (`BuyerFeed.initial`) only start the go-live summary: one
message per buyer and one e-mail with the CSV of every open alert, once they stopped coming.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta

from prometheus_client import Counter

from processors.inventory.attention import (
    AttentionConfig,
    BuyerAttention,
    Item,
    Send,
    SendKind,
    digest_sent,
    new_state,
    next_wakeup,
    on_inbound,
    on_initial,
    on_item,
    tick,
    withdraw,
)
from processors.inventory.attention_messages import (
    cap_email,
    golive_messages,
    list_entries,
    list_message,
    opener_message,
)
from processors.inventory.buyer_labels import ProductLabel
from processors.inventory.buyer_messages import alert_message
from schemas.alerts import AlertLevel, BuyerFeed, StockAlert
from schemas.commands import OutboundMessage
from schemas.erp import Buyer
from schemas.settings import get_settings
from schemas.whatsapp import InboundMessage
from streams.app import app, catalogue
from streams.dimensions import buyer_by_phone, product_label, supplier_name, warehouses
from streams.messages import send_message
from streams.stock_alerts import alerts_by_buyer

log = logging.getLogger(__name__)

TICK_INTERVAL_S = 5.0
SENDS = Counter("topllantas_buyer_attention_sends_total",
                "What the buyers' attention budget sent, by kind", ["kind"])

OpenAlerts = Callable[[], dict[str, StockAlert]]
SendDigest = Callable[[Buyer, datetime], Awaitable[None]]

attention = app.Table("buyer_attention", default=None,
                      partitions=catalogue["whatsapp.inbound"].partitions)
"""phone -> {"p": partition, **BuyerAttention.to_dict()}."""
lists = app.Table("buyer_lists", default=None, partitions=catalogue["whatsapp.inbound"].partitions)
"""`<list key>` (a gathered send's key) -> the alert ids of the list."""


def _config() -> AttentionConfig:
    s = get_settings()
    return AttentionConfig(gather_window=timedelta(seconds=s.attention_gather_window_s),
                           daily_cap=s.attention_daily_cap, digest_at=s.attention_digest_at,
                           quiet_start=s.attention_quiet_start, quiet_end=s.attention_quiet_end,
                           golive_quiet=timedelta(seconds=s.attention_golive_quiet_s))


CONFIG = _config()


def _load(phone: str, now: datetime) -> BuyerAttention:
    stored = attention.get(phone)
    return BuyerAttention.from_dict(stored) if stored else new_state(phone, now, CONFIG)


def _store(phone: str, partition: int, state: BuyerAttention) -> None:
    attention[phone] = {"p": partition, **state.to_dict()}


def _critical(alert: StockAlert) -> bool:
    """Triage's verdict; an alert decided before triage existed by its level."""
    return alert.route == "critical" if alert.route else alert.level is AlertLevel.CRITICO


async def on_alert(phone: str, partition: int, feed: BuyerFeed, received: datetime,
                   open_alerts: OpenAlerts, send_digest: SendDigest) -> None:
    """An alert in the buyer's feed (already in `buyer_alerts`)."""
    alert = feed.alert
    if alert is None:
        return
    state = _load(phone, received)
    if alert.resolved:
        after, sends = withdraw(state, alert.alert_id), []
    elif feed.initial:
        after, sends = on_initial(state, received), []
    elif _critical(alert):
        item = Item(alert.alert_id, alert.supplier_id, critical=True,
                    a_class=(alert.segment or "").startswith("A/"))
        after, sends = on_item(state, item, feed.at, CONFIG, event_id=alert.event_id)
    else:
        return  # a digest line: the 07:00 digest reads every open alert
    if after != state or phone not in attention:
        await _deliver(phone, sends, feed.at, {alert.alert_id: alert}, open_alerts, send_digest)
        _store(phone, partition, after)


async def on_tick(phone: str, partition: int, at: datetime, open_alerts: OpenAlerts,
                  send_digest: SendDigest) -> None:
    state = _load(phone, at)
    after, sends = tick(state, at, CONFIG)
    if after != state:
        await _deliver(phone, sends, at, {}, open_alerts, send_digest)
        _store(phone, partition, after)


async def on_buyer_message(phone: str, partition: int, at: datetime, open_alerts: OpenAlerts,
                           send_digest: SendDigest) -> None:
    """The buyer wrote: the 24-hour window is open; items that waited behind the opener go."""
    state = _load(phone, at)
    after, sends = on_inbound(state, at, CONFIG)
    await _deliver(phone, sends, at, {}, open_alerts, send_digest)
    _store(phone, partition, after)


def on_digest(phone: str, partition: int, at: datetime) -> None:
    """The 07:00 crontab's digest went out: what it carried is said."""
    _store(phone, partition, digest_sent(_load(phone, at), at, CONFIG))


async def _deliver(phone: str, sends: list[Send], now: datetime,
                   known: Mapping[str, StockAlert], open_alerts: OpenAlerts,
                   send_digest: SendDigest) -> None:
    """Render and send; return once the broker has every record."""
    if not sends:
        return
    buyer = buyer_by_phone(phone)
    if buyer is None:
        log.warning("attention sends for %s, who is no buyer (any more): dropped", phone)
        return
    opened: dict[str, StockAlert] = {}
    if any(s.kind in (SendKind.GATHERED, SendKind.EMAIL, SendKind.GOLIVE) for s in sends) or any(
            i not in known for s in sends for i in s.alert_ids):
        opened = open_alerts()
    alerts = {**opened, **known}
    pending: list[asyncio.Future] = []  # type: ignore[type-arg]
    for send in sends:
        if send.kind is SendKind.DIGEST:
            await send_digest(buyer, now)
            continue
        chosen = [alerts[i] for i in send.alert_ids if i in alerts]
        if send.kind is SendKind.GOLIVE:
            chosen = list(opened.values())
        for message in _render(send, buyer, chosen, now):
            pending.append(await send_message(message))
        SENDS.labels(kind=send.kind.value).inc()
    await asyncio.gather(*pending)


def _labels(alerts: list[StockAlert]) -> tuple[dict[int, ProductLabel], dict[int, str]]:
    labels = {a.product_id: label for a in alerts
              if (label := product_label(a.product_id)) is not None}
    return labels, {a.supplier_id: supplier_name(a.supplier_id) for a in alerts}


def _branches(alerts: list[StockAlert]) -> dict[int, str]:
    rows = {a.warehouse_id: warehouses.get(str(a.warehouse_id)) for a in alerts}
    return {w: row["name"] for w, row in rows.items() if row}


def _render(send: Send, buyer: Buyer, alerts: list[StockAlert],
            now: datetime) -> list[OutboundMessage]:
    """The messages of one send (none when every alert it carried is gone meanwhile)."""
    if send.kind is SendKind.OPENER:
        return [opener_message(to=buyer.phone, key=send.key, waiting=len(send.items), now=now)]
    if not alerts:
        return []
    labels, names = _labels(alerts)
    if send.kind is SendKind.EMAIL:
        return [cap_email(alerts, buyer=buyer, labels=labels, supplier_names=names,
                          key=send.key, now=now)]
    if send.kind is SendKind.GOLIVE:
        return list(golive_messages(alerts, buyer=buyer, labels=labels, supplier_names=names,
                                    branch_names=_branches(alerts), key=send.key, now=now))
    if len(alerts) == 1:
        alert = alerts[0]
        label = labels.get(alert.product_id)
        if label is None:
            return []
        branch = _branches(alerts).get(alert.warehouse_id)
        message = alert_message(alert, label, names[alert.supplier_id], buyer.phone, branch)
        released = "at_once" if send.at_once else "held"  # held: a window's end, a reply
        return [message.model_copy(update={"context": {**message.context,
                                                       "released": released}})]
    lists[send.key] = [a.alert_id for a in alerts]
    entries = list_entries(alerts, labels, names, _branches(alerts))
    return [list_message(entries, to=buyer.phone, key=send.key, list_key=send.key, page=0,
                         now=now)]


# --------------------------------------------------------------------------- list taps


def supplier_tap(message: InboundMessage) -> InboundMessage:
    """`Todo <proveedor>` of a list (`approve_supplier:<supplier_id>:<list>`) is «Aprobar todo
    <proveedor>», which the buyer loop already answers; other messages unchanged."""
    action, _, rest = (message.button_id or "").partition(":")
    if action != "approve_supplier":
        return message
    supplier_id = rest.partition(":")[0]
    if not supplier_id.isdigit():
        return message
    return message.model_copy(update={
        "button_id": None, "kind": "text",
        "text": f"Aprobar todo {supplier_name(int(supplier_id))}"})


async def page_tap(message: InboundMessage, buyer: Buyer, open_alerts: OpenAlerts) -> bool:
    """«Ver N más» (`more:<list>:<page>`) and a go-live supplier button
    (`golive_supplier:<supplier_id>`): answered with that page of the list. False for any
    other message."""
    action, _, rest = (message.button_id or "").partition(":")
    if action == "more":
        list_key, _, page_text = rest.rpartition(":")
        page = int(page_text) if page_text.isdigit() else 0
    elif action == "golive_supplier" and rest.isdigit():
        list_key, page = f"golive:{rest}", 0
    else:
        return False
    opened = open_alerts()
    if list_key.startswith("golive:"):
        supplier = int(list_key.partition(":")[2])
        chosen = [a for a in opened.values() if a.supplier_id == supplier and a.proposed_qty > 0]
    else:
        chosen = [opened[i] for i in lists.get(list_key) or [] if i in opened]
    labels, names = _labels(chosen)
    entries = list_entries(chosen, labels, names, _branches(chosen))
    key = f"buyer-reply:{message.message_id}"
    try:
        reply = list_message(entries, to=buyer.phone, key=key, list_key=list_key, page=page,
                             now=message.sent_at)
    except ValueError:  # nothing (left) on that page: approved or resolved meanwhile
        reply = OutboundMessage(idempotency_key=key, to=buyer.phone, reply_to=message.message_id,
                                text="Ya no quedan productos pendientes en esa lista.",
                                issued_at=message.sent_at)
    await (await send_message(reply))
    return True


# --------------------------------------------------------------------------- clock


@app.timer(interval=TICK_INTERVAL_S)
async def attention_clock() -> None:
    """A `tick` onto the feed of each buyer of this worker with something due (a gathering
    window that ended, the go-live summary, the digest): the agent decides it in order."""
    now = datetime.now(UTC)
    active = {tp.partition for tp in app.assignor.assigned_actives()
              if tp.topic == "whatsapp.inbound"}
    value = BuyerFeed(kind="tick", at=now).model_dump_json().encode()
    for phone, stored in list(attention.items()):
        if stored and stored["p"] in active and next_wakeup(
                BuyerAttention.from_dict(stored), now, CONFIG) <= now:
            await alerts_by_buyer.send(key=phone.encode(), value=value)
