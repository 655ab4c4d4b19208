"""Stock alerts per product×warehouse, WhatsApp for critical ones, and every alert to its buyer.

erp.public.stock ──────┐ table `inventory` (streams/inventory.py: `update_inventory`)
inventory.on_order ────┤   └─ the new position ─┐
demand.daily ──────────┤                        ├─> table `stock_alerts` (inputs + AlertState)
forecasts.demand ──────┤                        │   ─> when the alert changes:
alerts.control ────────┴────────────────────────┘   alerts.stock, alerts.by_buyer (by buyer
  (snoozes from the buyer loop,                     phone) and, when critical,
   settle/clock ticks from the timers)              messages.outbound (WhatsApp to the brand's
                                                    buyer, idempotency key from the alert)

One agent per stock key reads all five co-partitioned topics: a stock change updates the position
and decides the alert in the same step (no hop through `inventory.position`, which is still
published for analysts), and the two tables of a key are only ever written by it, in order.

Dimension rows (products, brands, suppliers, price breaks, buyers, warehouses) are loaded from
their CDC topics into GlobalTables. Price breaks are re-keyed by product and gathered per product
in a partitioned table first: a GlobalTable re-applies its own changelog, so a read-modify-write
on it can lose an update.

Determinism: the alert's `now` is event time (the stock row's `updated_at`, the sales' commit
time), never the worker's clock, so the same input records give the same alert ids and contents.
Only the timers read the clock: a snooze that ends, and the morning re-evaluation (06:30 Mexico
City) that slides the 90-day demand window and notices products that stopped selling.

Bootstrap: inputs that come from a CDC snapshot (a position whose stock was never streamed, a
demand total built from snapshot rows) are only recorded. Sales history reaches this agent through
three hops and long after the stock snapshot, so the keys are evaluated once no snapshot demand
has arrived on this worker for `SETTLE_S` (or, when no snapshot demand arrives at all, once the
snapshot positions have been quiet for `SETTLE_WITHOUT_DEMAND_S`) and the worker has read its
partitions of the sales-to-demand topics to their end: a fresh start does not alert on
half-loaded sales history. Live changes are evaluated at once.

Demand: the trailing 90 days of `demand.daily`; when `forecasts.demand` has a forecast for the key
with days left, its mean and deviation over the supplier's lead time replace the trailing ones
(`DemandStats.with_forecast`; the sales recency stays from the history).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

from prometheus_client import Counter
from pydantic import BaseModel, ValidationError

from processors.change_events import BadEvent
from processors.inventory.alerts import AlertState, decide, snooze
from processors.inventory.buyer_messages import alert_message
from processors.inventory.demand import (
    MEXICO_CITY,
    DailyDemand,
    days_from_value,
    days_to_value,
    demand_stats,
    forecast_stats,
    local_day,
)
from processors.inventory.policy import InventoryConfig, evaluate_policy
from processors.inventory.position import InventoryState, decision_basis, undecided
from processors.inventory.supply import SupplyTermsCache
from schemas.alerts import AlertLevel, StockAlert
from schemas.events import InventoryPosition
from schemas.forecasts import DemandForecast
from schemas.whatsapp import InboundMessage
from streams.app import app, catalogue
from streams.dead_letters import dead_letter
from streams.dimensions import (
    buyers_for,
    price_breaks,
    product_label,
    products,
    supplier_name,
    suppliers,
    warehouses,
)
from streams.inventory import (
    EVENTS,
    INVENTORY_TOPICS,
    inventory,
    parse_stock_key,
    stock_key,
    update_inventory,
)
from streams.messages import send_message
from streams.telemetry import partition_lags
from streams.topics import raw_topic

CONFIG = InventoryConfig()
SUPPLY = SupplyTermsCache()  # derived from the dimension GlobalTables (processors/.../supply.py)
SETTLE_S = 15.0
SETTLE_WITHOUT_DEMAND_S = 60.0
SWEEP_INTERVAL_S = 5.0
CAUGHT_UP_LAG = 10  # records left in a partition that still count as caught up
ALERTS = Counter("topllantas_stock_alerts_total", "Stock alert events emitted", ["level", "kind"])
UNROUTED = Counter("topllantas_stock_alerts_unrouted_total", "Alert events without a buyer")
log = logging.getLogger("topllantas.stock_alerts")

POSITIONS = "inventory.position"
DEMAND = "demand.daily"
FORECASTS = "forecasts.demand"
CONTROL = "alerts.control"

DEMAND_PATH = {catalogue.cdc_topic("sales_orders").name,
               catalogue.cdc_topic("sales_order_lines").name,
               "demand.line_contributions", DEMAND, *INVENTORY_TOPICS}

alert_control = raw_topic(CONTROL)
stock_alert_events = raw_topic("alerts.stock")
alerts_by_buyer = raw_topic("alerts.by_buyer")
alert_source = app.topic(*INVENTORY_TOPICS, DEMAND, FORECASTS, CONTROL, key_type=bytes,
                         value_type=bytes, key_serializer="raw", value_serializer="raw")
ALERT_EVENTS = EVENTS.labels(agent="stock_alerts")

alert_table = app.Table("stock_alerts", default=None, partitions=catalogue[POSITIONS].partitions)


class AlertControl(BaseModel):
    """`alerts.control` (keyed by stock key): what moves an alert besides stock and demand.

    - `snooze`: `Posponer` on `alert_id` until `until`.
    - `settle`: evaluate a key whose snapshot inputs have settled.
    - `clock`: evaluate at `at` (a snooze ended, or the morning re-evaluation).
    """

    kind: Literal["snooze", "settle", "clock"]
    at: datetime
    alert_id: str | None = None
    until: datetime | None = None


class BuyerFeed(BaseModel):
    """`alerts.by_buyer` (keyed by buyer phone): an alert event, the morning digest's turn, or a
    buyer's message read again (`retry`) once the feed before it has been read."""

    kind: Literal["alert", "digest", "retry"]
    at: datetime
    alert: StockAlert | None = None
    message: InboundMessage | None = None


# --------------------------------------------------------------------------- alert inputs


@dataclass
class AlertInputs:
    """What the alert of one product×warehouse is decided from besides its position (read from
    the event, or from the co-partitioned `inventory` table), and its AlertState.

    `clock_ms` is event time (the newest input's time); `dirty` marks inputs recorded but not
    evaluated yet (snapshot inputs, or dimension rows still missing); `demand_touched_ms` and
    `position_touched_ms` are the worker's time of the last snapshot input of each kind;
    `partition` is the key's partition (for the timers). Daily demand is kept by day ordinal
    (`days_to_value`);
    `forecast` is the latest forecast's days (ordinals), means and deviations; `sent` the newest
    alert published and the record that caused it (see `_publish`); `decided_on` the
    `decision_basis` of the position the stored state was decided from (see `undecided`).
    """

    product_id: int
    warehouse_id: int
    partition: int
    days: dict[int, int] = field(default_factory=dict)
    clock_ms: int = 0
    dirty: bool = False
    demand_touched_ms: int = 0
    position_touched_ms: int = 0
    forecast: dict[str, list[float]] | None = None
    state: AlertState | None = None
    sent: dict[str, Any] | None = None
    decided_on: list[int] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"p": self.product_id, "w": self.warehouse_id, "pt": self.partition,
                "d": days_to_value(self.days), "c": self.clock_ms,
                "dirty": self.dirty, "td": self.demand_touched_ms,
                "tp": self.position_touched_ms, "f": self.forecast,
                "st": self.state.to_dict() if self.state else None, "sent": self.sent,
                "q": self.decided_on}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AlertInputs:
        return cls(d["p"], d["w"], d["pt"], days_from_value(d["d"]), d["c"], d["dirty"], d["td"],
                   d["tp"], d["f"], AlertState.from_dict(d["st"]) if d["st"] else None,
                   d.get("sent"), d.get("q"))

    def remember_sent(self, alert: StockAlert, cause: tuple[str, int, int]) -> None:
        """The newest alert published, and the input record (topic, partition, offset) that
        caused it: replayed after a crash, that record publishes the alert again."""
        self.sent = {"cause": list(cause), "alert": alert.model_dump_json()}

    def advance(self, at: datetime | None) -> None:
        if at is not None:
            self.clock_ms = max(self.clock_ms, int(at.timestamp() * 1000))

    def defer_position(self) -> None:
        self.dirty = True
        self.position_touched_ms = int(time.time() * 1000)

    def defer_demand(self) -> None:
        self.dirty = True
        self.demand_touched_ms = int(time.time() * 1000)


@dataclass(frozen=True, slots=True)
class Step:
    """What one input asks for: evaluate (with the event's position, if it carried one), and
    whether the recorded inputs changed (so the table must be written even without an alert)."""

    evaluate: bool
    changed: bool
    position: InventoryPosition | None = None


def _take_position(inputs: AlertInputs, position: InventoryPosition) -> Step:
    """A streamed position is evaluated; a snapshot one (no LSN) only recorded."""
    if position.source_lsn > 0:
        return Step(evaluate=True, changed=False, position=position)
    inputs.advance(position.updated_at)
    inputs.defer_position()
    return Step(evaluate=False, changed=True)


def _take_input(inputs: AlertInputs, topic: str, value: bytes) -> Step:
    if topic == DEMAND:
        daily = DailyDemand.model_validate_json(value)
        inputs.days = {day.toordinal(): qty for day, qty in daily.days.items()}
        inputs.clock_ms = max(inputs.clock_ms, daily.as_of_ms)
        if daily.snapshot:
            inputs.defer_demand()
        return Step(evaluate=not daily.snapshot, changed=True)
    if topic == FORECASTS:
        forecast = DemandForecast.model_validate_json(value)
        inputs.forecast = {"d": [day.toordinal() for day in forecast.dates],
                           "m": forecast.mean, "s": forecast.sigma}
        inputs.advance(forecast.generated_at)
        return Step(evaluate=not inputs.dirty, changed=True)
    control = AlertControl.model_validate_json(value)
    if control.kind == "snooze":
        state = inputs.state
        if control.until is None or state is None or control.alert_id not in (
                state.alert_id, state.notified_alert_id):
            return Step(evaluate=False, changed=False)
        inputs.state = snooze(state, control.until)
        return Step(evaluate=False, changed=inputs.state != state)
    if control.kind == "settle":
        return Step(evaluate=inputs.dirty, changed=False)
    inputs.advance(control.at)
    return Step(evaluate=True, changed=True)


def _current_position(key: str) -> InventoryPosition | None:
    stored = inventory.get(key)
    return InventoryState.from_dict(stored).position() if stored else None


def _decide(inputs: AlertInputs, position: InventoryPosition, record_ms: int
            ) -> tuple[AlertState, StockAlert | None] | None:
    """None when the product's supply rows are not known yet. The alert's time is event time:
    the newest of the position's `updated_at` and the recorded inputs' times (the record's own
    time only when no input carried one)."""
    product_row = products.get(str(inputs.product_id))
    if product_row is None:
        return None
    supply = SUPPLY.terms(product_row, lambda supplier_id: suppliers.get(str(supplier_id)),
                          price_breaks.get(str(inputs.product_id)))
    if supply is None:
        return None
    product, terms = supply
    inputs.advance(position.updated_at)
    now = datetime.fromtimestamp((inputs.clock_ms or record_ms) / 1000, UTC)
    today = local_day(now)
    stats = demand_stats(inputs.days, today)
    if inputs.forecast:
        ahead = forecast_stats([date.fromordinal(int(d)) for d in inputs.forecast["d"]],
                               inputs.forecast["m"], inputs.forecast["s"], today,
                               terms.lead_time_days)
        if ahead is not None:
            stats = stats.with_forecast(*ahead)
    result = evaluate_policy(stats, terms, product.abc_class, position, CONFIG)
    return decide(inputs.state, position, result, now, CONFIG)


@app.agent(alert_source)
async def evaluate_alerts(stream):  # type: ignore[no-untyped-def]
    """Inventory position, policy and alert state machine per product×warehouse; `alerts.stock`
    only on a change."""
    async for event in stream.events():
        if event.value is None:
            continue  # tombstone of a compacted topic
        message = event.message
        cause = (message.topic, message.partition, message.offset)
        try:
            product_id, warehouse_id = parse_stock_key(event.key)
            key = f"{product_id}:{warehouse_id}"
            stored = alert_table.get(key)
            if stored and stored.get("sent") and tuple(stored["sent"]["cause"]) == cause:
                await _publish(StockAlert.model_validate_json(stored["sent"]["alert"]), event.key)
            position = None
            if message.topic in INVENTORY_TOPICS:
                update = await update_inventory(event, product_id, warehouse_id)
                if update is None or not undecided(*update, stored and stored.get("q")):
                    continue  # nothing new to decide
                position = update[0]
            inputs = (AlertInputs.from_dict(stored) if stored
                      else AlertInputs(product_id, warehouse_id, message.partition))
            step = (_take_position(inputs, position) if position is not None
                    else _take_input(inputs, message.topic, event.value))
        except (BadEvent, ValidationError, ValueError) as exc:
            await dead_letter(event, exc,
                              "inventory" if message.topic in INVENTORY_TOPICS else "alerts")
            continue
        changed = step.changed or stored is None
        position = step.position or (_current_position(key) if step.evaluate else None)
        if position is not None:
            outcome = _decide(inputs, position, int(message.timestamp * 1000))
            if outcome is None:
                changed = changed or not inputs.dirty
                inputs.dirty = True
            else:
                state, alert = outcome
                changed = changed or inputs.dirty or state != inputs.state
                inputs.state, inputs.dirty = state, False
                inputs.decided_on = decision_basis(position)
                if alert is not None:
                    await _publish(alert, event.key)
                    inputs.remember_sent(alert, cause)
                    changed = True
                    ALERTS.labels(level=alert.level.value, kind=_kind(alert)).inc()
        if changed:
            alert_table[key] = inputs.to_dict()
        ALERT_EVENTS.inc()


def _kind(alert: StockAlert) -> str:
    return "resolved" if alert.resolved else "reminder" if alert.reminder else "alert"


# --------------------------------------------------------------------------- timers


async def _tick(kind: Literal["settle", "clock"], keys: list[tuple[int, int, int]],
                at: datetime) -> None:
    value = AlertControl(kind=kind, at=at).model_dump_json().encode()
    for product_id, warehouse_id, partition in keys:
        await alert_control.send(key=stock_key(product_id, warehouse_id), value=value,
                                 partition=partition)


def _active_partitions() -> set[int]:
    return {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == DEMAND}


async def _demand_path_caught_up() -> bool:
    """This worker has read its partitions of every topic on the way from the ERP's sales to the
    alert inputs to their end: a pause in arriving history is not mistaken for its end (the
    stock worker of a big ERP can spend minutes on the snapshot's sales history)."""
    return all(lag is not None and lag <= CAUGHT_UP_LAG
               for lags in (await partition_lags(DEMAND_PATH)).values() for lag in lags)


@app.timer(interval=SWEEP_INTERVAL_S)
async def sweep_alerts() -> None:
    """Settle ticks once this worker's snapshot inputs are quiet; clock ticks for ended snoozes."""
    active = _active_partitions()
    now = datetime.now(UTC)
    now_ms = int(now.timestamp() * 1000)
    settle: list[tuple[int, int, int]] = []
    ended: list[tuple[int, int, int]] = []
    newest_demand = newest_position = 0
    for stored in list(alert_table.values()):
        if stored is None or stored["pt"] not in active:
            continue
        where = (stored["p"], stored["w"], stored["pt"])
        if stored["dirty"]:
            settle.append(where)
            newest_demand = max(newest_demand, stored["td"])
            newest_position = max(newest_position, stored["tp"])
        snoozed_until = stored["st"]["s"] if stored["st"] else None
        if snoozed_until and datetime.fromisoformat(snoozed_until) <= now:
            ended.append(where)
    quiet = (now_ms - newest_demand >= SETTLE_S * 1000 if newest_demand
             else now_ms - newest_position >= SETTLE_WITHOUT_DEMAND_S * 1000)
    if settle and quiet and await _demand_path_caught_up():
        await _tick("settle", settle, now)
    await _tick("clock", ended, now)


@app.crontab("30 6 * * *", timezone=MEXICO_CITY)
async def morning_reevaluation() -> None:
    """Re-evaluate every key of this worker at today's date, before the 07:00 digest."""
    active = _active_partitions()
    keys = [(s["p"], s["w"], s["pt"]) for s in list(alert_table.values())
            if s is not None and s["pt"] in active]
    await _tick("clock", keys, datetime.now(UTC))


# --------------------------------------------------------------------------- buyers


async def _publish(alert: StockAlert, key: bytes) -> None:
    """The alert on `alerts.stock` and in its buyers' feeds, then, when critical, the WhatsApp
    message to each buyer. Same ids and idempotency keys every time it is published for one
    decision (the WhatsApp sink sends a key once; the feeds and `alerts.stock` are keyed).

    Not waited for: the state that remembers the alert may reach its changelog before the
    records reach the broker. Faust flushes the producer before it commits an input offset, so
    after a crash the input record that caused the alert is read again, and the agent, finding
    it as the cause in `AlertInputs.sent`, publishes the alert again. (Of two alerts of one key
    within the unacknowledged window, only the newer, which supersedes the other, comes back.)
    """
    await stock_alert_events.send(key=key, value=alert.model_dump_json().encode())
    label = product_label(alert.product_id)
    recipients = buyers_for(label) if label else []
    feed = BuyerFeed(kind="alert", at=alert.at, alert=alert).model_dump_json().encode()
    for buyer in recipients:
        await alerts_by_buyer.send(key=buyer.phone.encode(), value=feed)
    if label is None or not recipients:
        UNROUTED.inc()
        log.warning("alert %s: no buyer known for product %s", alert.event_id,
                    alert.product_id)
        return
    if alert.level is AlertLevel.CRITICO:
        row = warehouses.get(str(alert.warehouse_id))
        for buyer in recipients:
            message = alert_message(alert, label, supplier_name(alert.supplier_id), buyer.phone,
                                    row["name"] if row else None)
            await send_message(message)
