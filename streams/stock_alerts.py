"""Stock alerts per product×warehouse, triaged, and every alert to its buyer's feed.

erp.public.stock ──────┐ table `inventory` (streams/inventory.py: `update_inventory`)
inventory.on_order ────┤   └─ the new position ─┐
demand.daily ──────────┤                        ├─> table `stock_alerts` (inputs + AlertState)
forecasts.demand ──────┤                        │   ─> when the alert changes:
alerts.control ────────┴────────────────────────┘   alerts.stock and alerts.by_buyer (by
  (snoozes from the buyer loop,                     buyer phone); what reaches the phone is
   settle/clock ticks from the timers)              the buyer loop's attention budget
                                                    (streams/buyer_attention.py)

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
has arrived on this worker for `SETTLE_S` (STOCK_SETTLE_S; or, when no snapshot demand arrives
at all, once the snapshot positions have been quiet for `SETTLE_WITHOUT_DEMAND_S`) and the worker
has read its partitions of the sales-to-demand topics to their end: a fresh start does not alert
on half-loaded sales history. Live changes are evaluated at once. A `cdc resnapshot` under a
running worker is a first evaluation too: its stock rows (a newer record time than the key's last
snapshot row, `AlertInputs.snapshot_ms`; the same row read again after a crash is not) are
recorded and settled together, and a key whose settle decides nothing new publishes its open alert
again (same ids), so each buyer gets one go-live summary again, not one message per item.

Demand: the trailing 90 days of `demand.daily`; when `forecasts.demand` has a forecast for the key
with days left, its mean and deviation over the supplier's lead time replace the trailing ones
(`DemandStats.with_forecast`; the sales recency stays from the history).
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Literal

from prometheus_client import Counter
from pydantic import ValidationError

from processors.change_events import BadEvent
from processors.inventory.demand import local_day
from processors.inventory.evaluation import (
    ALERT_CONFIG,
    TRIAGE,
    AlertInputs,
    Pending,
    Step,
    Valuation,
    decided_on,
    evaluate,
    new_snapshot,
    open_alert,
    pair_margins,
    pending_of,
    plan_sweep,
    replayed_alert,
    take_control,
    take_demand,
    take_forecast,
    take_position,
)
from processors.inventory.policy import SupplyTerms
from processors.inventory.position import InventoryState, undecided
from processors.inventory.supply import SupplyTermsCache
from processors.inventory.triage import margin_cutoffs
from schemas.alerts import AlertControl, BuyerFeed, StockAlert
from schemas.demand import DailyDemand
from schemas.erp import Product
from schemas.events import InventoryPosition, stock_table_key
from schemas.forecasts import DemandForecast
from schemas.settings import get_settings
from schemas.timezones import MEXICO_CITY
from streams import branch_levels
from streams.app import app, catalogue
from streams.dead_letters import dead_letter
from streams.dimensions import (
    buyers_for,
    price_breaks,
    product_label,
    products,
    suppliers,
)
from streams.inventory import (
    EVENTS,
    INVENTORY_TOPICS,
    inventory,
    parse_stock_key,
    stock_key,
    update_inventory,
)
from streams.telemetry import partition_lags
from streams.topics import raw_source, raw_topic

CONFIG = ALERT_CONFIG  # service levels per triage segment (processors/inventory/triage.py)
SUPPLY = SupplyTermsCache()  # derived from the dimension GlobalTables (processors/.../supply.py)
SETTLE_S = get_settings().stock_settle_s
SETTLE_WITHOUT_DEMAND_S = get_settings().stock_settle_without_demand_s
SWEEP_INTERVAL_S = 5.0
CAUGHT_UP_LAG = 10  # records left in a partition that still count as caught up
VALUE_REFRESH_S = 60.0  # at most this often, but before every settle and morning tick
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
alert_source = raw_source(*INVENTORY_TOPICS, DEMAND, FORECASTS, CONTROL)
ALERT_EVENTS = EVENTS.labels(agent="stock_alerts")

alert_table = app.Table("stock_alerts", default=None, partitions=catalogue[POSITIONS].partitions)


def _supply(product_id: int) -> tuple[Product, SupplyTerms] | None:
    """The product and its supply terms from the dimension GlobalTables; None while a row is
    missing."""
    product_row = products.get(str(product_id))
    if product_row is None:
        return None
    return SUPPLY.terms(product_row, lambda supplier_id: suppliers.get(str(supplier_id)),
                        price_breaks.get(str(product_id)))


valuation = Valuation(TRIAGE)
"""Margin ABC cutoffs over the pairs this worker holds (`_value_pairs`)."""
_valued_at = 0.0


def _product(product_id: int) -> Product | None:
    supply = _supply(product_id)
    return supply[0] if supply else None


def _value_pairs(now: datetime, min_age_s: float = VALUE_REFRESH_S) -> None:
    """Rank every pair of `stock_alerts` this worker holds by margin (ABC on margin across pairs,
    processors/inventory/triage.py). A worker holds a hash-spread share of all pairs, so its
    cutoffs estimate those of the whole catalogue. Without any margin yet (a fresh start before
    the sales history arrived) the ERP's class stays in use."""
    global valuation, _valued_at
    if time.monotonic() - _valued_at < min_age_s:
        return
    _valued_at = time.monotonic()
    rows = [stored for stored in list(alert_table.values()) if stored is not None]
    margins = pair_margins(rows, _product, local_day(now))
    cutoffs = margin_cutoffs(margins, TRIAGE) if any(m > 0 for m in margins) else None
    valuation = Valuation(TRIAGE, cutoffs)


def _take(inputs: AlertInputs, topic: str, value: bytes) -> Step:
    now_ms = int(time.time() * 1000)
    if topic == DEMAND:
        return take_demand(inputs, DailyDemand.model_validate_json(value), now_ms)
    if topic == FORECASTS:
        return take_forecast(inputs, DemandForecast.model_validate_json(value))
    return take_control(inputs, AlertControl.model_validate_json(value))


def _current_position(key: str) -> InventoryPosition | None:
    stored = inventory.get(key)
    return InventoryState.from_dict(stored).position() if stored else None


@app.agent(alert_source)
async def evaluate_alerts(stream):  # type: ignore[no-untyped-def]
    """Inventory position, policy and alert state machine per product×warehouse; `alerts.stock`
    only on a change (processors/inventory/evaluation.py decides)."""
    async for event in stream.events():
        if event.value is None:
            continue  # tombstone of a compacted topic
        message = event.message
        cause = (message.topic, message.partition, message.offset)
        try:
            product_id, warehouse_id = parse_stock_key(event.key)
            key = stock_table_key(product_id, warehouse_id)
            stored = alert_table.get(key)
            replayed = replayed_alert(stored, cause)
            if replayed is not None:
                await _publish(replayed, event.key)
            position, snapshot_ms = None, None
            if message.topic in INVENTORY_TOPICS:
                update = await update_inventory(event, product_id, warehouse_id)
                if update is None:
                    continue
                record_ms = int(message.timestamp * 1000)
                if update.snapshot and new_snapshot(stored, record_ms):
                    snapshot_ms = record_ms  # a fresh start's or a re-snapshot's row
                elif not undecided(update.position, update.changed, decided_on(stored)):
                    continue  # nothing new to decide
                position = update.position
            inputs = (AlertInputs.from_dict(stored) if stored
                      else AlertInputs(product_id, warehouse_id, message.partition))
            step = (take_position(inputs, position, int(time.time() * 1000), snapshot_ms)
                    if position is not None else _take(inputs, message.topic, event.value))
        except (BadEvent, ValidationError, ValueError) as exc:
            await dead_letter(event, exc,
                              "inventory" if message.topic in INVENTORY_TOPICS else "alerts")
            continue
        position = step.position or (_current_position(key) if step.evaluate else None)
        changed, alert, again = step.changed or stored is None, None, False
        if position is not None:
            if valuation.cutoffs is None:
                _value_pairs(datetime.now(UTC))  # a restart: ranked from the recovered table
            decided, alert = evaluate(inputs, position, _supply(product_id),
                                      int(message.timestamp * 1000), cause, CONFIG, valuation)
            changed = changed or decided
            alert = branch_levels.observe(inputs, position, alert, cause)  # transfers first
            if alert is None and step.initial:
                alert = open_alert(inputs)  # a re-snapshot: the buyer's go-live summary again
                again = alert is not None
        if alert is not None:
            await _publish(alert, event.key, initial=step.initial)
            if not again:
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


async def _demand_path_caught_up() -> bool:
    """This worker has read its partitions of every topic on the way from the ERP's sales to the
    alert inputs to their end: a pause in arriving history is not mistaken for its end (the
    stock worker of a big ERP can spend minutes on the snapshot's sales history)."""
    return all(lag is not None and lag <= CAUGHT_UP_LAG
               for lags in (await partition_lags(DEMAND_PATH)).values() for lag in lags)


def _active_rows() -> list[Pending]:
    """The timers' view of this worker's keys."""
    active = {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == DEMAND}
    rows = [pending_of(stored) for stored in list(alert_table.values()) if stored is not None]
    return [row for row in rows if row.where[2] in active]


@app.timer(interval=SWEEP_INTERVAL_S)
async def sweep_alerts() -> None:
    """Settle ticks once this worker's snapshot inputs are quiet; clock ticks for ended snoozes."""
    now = datetime.now(UTC)
    sweep = plan_sweep(_active_rows(), now, SETTLE_S, SETTLE_WITHOUT_DEMAND_S)
    if sweep.settle and await _demand_path_caught_up():
        _value_pairs(now, min_age_s=0 if valuation.cutoffs is None else VALUE_REFRESH_S)
        await _tick("settle", sweep.settle, now)
    await _tick("clock", sweep.ended, now)


@app.crontab("30 6 * * *", timezone=MEXICO_CITY)
async def morning_reevaluation() -> None:
    """Rank the pairs by margin again and re-evaluate every key of this worker at today's date,
    before the 07:00 digest."""
    now = datetime.now(UTC)
    _value_pairs(now, min_age_s=0)
    await _tick("clock", [row.where for row in _active_rows()], now)


# --------------------------------------------------------------------------- buyers


async def _publish(alert: StockAlert, key: bytes, *, initial: bool = False) -> None:
    """The alert on `alerts.stock` and in its buyers' feeds (`initial`: decided by the first
    evaluation of snapshot inputs). What reaches the buyer's phone, and when, is the buyer
    loop's attention budget (streams/buyer_attention.py), not one message per alert. Same ids
    every time it is published for one decision (the feeds and `alerts.stock` are keyed).

    Not waited for: the state that remembers the alert may reach its changelog before the
    records reach the broker. Faust flushes the producer before it commits an input offset, so
    after a crash the input record that caused the alert is read again, and the agent, finding
    it as the cause in `AlertInputs.sent` (`replayed_alert`), publishes the alert again. (Of two
    alerts of one key within the unacknowledged window, only the newer, which supersedes the
    other, comes back.)
    """
    await stock_alert_events.send(key=key, value=alert.model_dump_json().encode())
    label = product_label(alert.product_id)
    recipients = buyers_for(label) if label else []
    feed = BuyerFeed(kind="alert", at=alert.at, alert=alert,
                     initial=initial).model_dump_json().encode()
    for buyer in recipients:
        await alerts_by_buyer.send(key=buyer.phone.encode(), value=feed)
    if label is None or not recipients:
        UNROUTED.inc()
        log.warning("alert %s: no buyer known for product %s", alert.event_id,
                    alert.product_id)
