"""Enriched topics for analysts: sales lines, end-of-day inventory, alerts and deliveries.

erp.public.{products,brands,categories,customers,warehouses} ─> route_dimensions ─┐
lines waiting for a dimension (from enrich_sales) ──────────────────────────────┴─>
  analytics.dimension_events (key kind:id) ─> maintain_dimensions:
      table analytics_dimension_versions (the owner's history) ─> GlobalTable analytics_dimensions
      table analytics_waiting (lines per missing dimension) ─> analytics.line_retries
erp.public.{sales_orders,sales_order_lines} (co-partitioned by order: topics.yaml `partition_by`)
  + analytics.line_retries ─> enrich_sales (table analytics_orders) ─> analytics.sales_enriched
  + orders.sweeps (daily: orders idle for ANALYTICS_RETENTION_DAYS and older counters leave)
inventory.position + analytics.inventory_snapshot_requests ─> daily_inventory
    (table analytics_positions) ─> analytics.inventory_daily   (23:59 Mexico City, on demand)
alerts.stock ─> enrich_alerts (table analytics_alert_levels) ─> analytics.alerts
erp.public.deliveries ─> track_deliveries ─> analytics.deliveries
whatsapp.inbound, messages.status, erp.commands.results ─> count_business (counters only)
forecasts.insights ─> collect_insights (the newest run's insights, for the dashboard)

Every agent also keeps the dashboard's counters (table `analytics_counters`, one record per
domain × period × source partition, see processors.analytics.counters), except the sales
counters, which are derived from `analytics_orders` in memory (`sales_view`,
processors.analytics.sales_view); streams.dashboard publishes them all to every worker.
The join rule is in schemas/analytics.py and docs/analytics.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from time import perf_counter, time
from typing import Any

import faust
import orjson
from confluent_kafka import murmur2
from pydantic import BaseModel

from processors.analytics.alerts import enrich_alert, open_level_changes
from processors.analytics.calendar import MX, local_day, utc_hour
from processors.analytics.counters import Bucket, bump, counter_key, expired, partition_owner
from processors.analytics.deliveries import delivery_stop, outcome
from processors.analytics.dimensions import (
    KIND_OF_TABLE,
    Version,
    add_version,
    as_of,
    dimension_key,
    version_of,
)
from processors.analytics.insights import keep_latest
from processors.analytics.inventory_daily import daily_key, daily_row
from processors.analytics.orders import (
    OrderState,
    apply_line,
    apply_order,
    idle_before,
    new_state,
    settled,
    touch,
)
from processors.analytics.sales import MissingDimension, enrich_line
from processors.analytics.sales_view import (
    SalesByDay,
    contribution,
    copy_of,
    move,
    sales_by_day,
)
from processors.change_events import Change, decode_change
from schemas.alerts import StockAlert
from schemas.analytics import SnapshotRequest
from schemas.commands import CommandResult, MessageResult
from schemas.events import InventoryPosition
from schemas.forecasts import DemandInsight
from schemas.settings import get_settings
from schemas.whatsapp import InboundMessage
from streams import metrics
from streams.app import app, catalogue
from streams.dead_letters import decoded
from streams.order_sweeps import SWEEPS, order_partition, read_request, sweep
from streams.topics import raw_source, raw_topic

log = logging.getLogger("topllantas.analytics")
LATEST = 2**62  # an LSN after every change: "the latest version"

LINE_RETRIES = "analytics.line_retries"
DIMENSION_EVENTS = "analytics.dimension_events"
SNAPSHOT_REQUESTS = "analytics.inventory_snapshot_requests"
DIMENSION_TABLES = {catalogue.cdc_topic(t).name: t for t in KIND_OF_TABLE}
ORDER_TABLES = {catalogue.cdc_topic(t).name: t for t in ("sales_orders", "sales_order_lines")}
DELIVERIES = catalogue.cdc_topic("deliveries").name
BUSINESS = ("whatsapp.inbound", "messages.status", "erp.commands.results")
INSIGHTS_DOMAIN = "insights"
# the sales-order topics, their retries and sweeps, and the counters (topics.yaml: co-partitioned)
COUNTER_PARTITIONS = catalogue[LINE_RETRIES].partitions
RETENTION_DAYS = get_settings().analytics_retention_days


dimension_events = raw_topic(DIMENSION_EVENTS)
line_retries = raw_topic(LINE_RETRIES)
snapshot_requests = raw_topic(SNAPSHOT_REQUESTS)
sales_enriched = raw_topic("analytics.sales_enriched")
inventory_daily = raw_topic("analytics.inventory_daily")
alerts_enriched = raw_topic("analytics.alerts")
deliveries_out = raw_topic("analytics.deliveries")

dimension_versions = app.Table("analytics_dimension_versions", default=None,
                               partitions=catalogue[DIMENSION_EVENTS].partitions)
# Every worker's copy of every dimension, for the joins. partitions=1 + recovery_buffer_size=1:
# Faust's advice against global-table recovery loops; use_partitioner: written from any partition.
dimensions = app.GlobalTable("analytics_dimensions", default=None, partitions=1,
                             recovery_buffer_size=1, use_partitioner=True)
waiting = app.Table("analytics_waiting", default=None,
                    partitions=catalogue[DIMENSION_EVENTS].partitions)
orders = app.Table("analytics_orders", default=None, partitions=catalogue[LINE_RETRIES].partitions)
positions = app.Table("analytics_positions", default=None,
                      partitions=catalogue["inventory.position"].partitions)
alert_levels = app.Table("analytics_alert_levels", default=None,
                         partitions=catalogue["alerts.stock"].partitions)
conversations = app.Table("analytics_conversations", default=None,
                          partitions=catalogue["whatsapp.inbound"].partitions)
counters = app.Table("analytics_counters", default=None, partitions=COUNTER_PARTITIONS)


class SalesView:
    """The sales counters of each partition of `analytics_orders` this worker owns, derived
    from the table: built from it when first needed (by `enrich_sales` before an event changes
    the table, or by the dashboard between events), kept up to date by `enrich_sales`, and
    forgotten on every rebalance (Faust lets in-flight events finish first; the recovered
    partitions are built again)."""

    def __init__(self) -> None:
        self._by_partition: dict[int, SalesByDay] = {}

    def of(self, partition: int) -> SalesByDay:
        view = self._by_partition.get(partition)
        if view is None:
            view = self._by_partition[partition] = sales_by_day(
                state for key, state in list(orders.items())
                if order_partition(key, COUNTER_PARTITIONS) == partition)
        return view

    def forget(self, partition: int | None = None) -> None:
        if partition is None:
            self._by_partition.clear()
        else:
            self._by_partition.pop(partition, None)


sales_view = SalesView()


async def _forget_sales(app: faust.App, partitions: set, **kwargs: Any) -> None:
    sales_view.forget()


app.on_partitions_revoked.connect(_forget_sales)
app.on_partitions_assigned.connect(_forget_sales)


def owned_partitions(topic: str) -> set[int]:
    """The partitions of `topic` this worker actively owns."""
    return {tp.partition for tp in app.consumer.assignment() if tp.topic == topic}


def _count(event: faust.EventT, domain: str, period: str, path: tuple[str, ...],
           amount: float = 1) -> None:
    """Add to a dashboard counter owned by the current event's partition."""
    key = counter_key(domain, period, partition_owner(event.message.partition))
    counters[key] = bump(counters.get(key), path, amount)


def _observe(agent: str, started: float, commit_ts_ms: int | None = None) -> None:
    metrics.EVENTS.labels(agent=agent).inc()
    metrics.PROCESSING_SECONDS.labels(agent=agent).observe(perf_counter() - started)
    if commit_ts_ms:
        metrics.EVENT_AGE_SECONDS.labels(agent=agent).observe(max(0.0, time() - commit_ts_ms / 1e3))


async def _emit(topic: faust.TopicT, key: str, value: bytes) -> None:
    await topic.send(key=key.encode(), value=value)
    metrics.EMITTED.labels(topic=topic.get_topic_name()).inc()


def _streamed(change: Change) -> int | None:
    """The commit time of a streamed change; None for snapshot rows (no meaningful age)."""
    return None if change.snapshot else change.commit_ts_ms


# ------------------------------------------------------------------------------ dimensions


@app.agent(raw_source(*DIMENSION_TABLES))
async def route_dimensions(stream):  # type: ignore[no-untyped-def]
    """Dimension changes onto `analytics.dimension_events`, keyed by dimension (`kind:id`)."""
    async for event in stream.events():
        started = perf_counter()
        change = await decoded(event, "analytics.dimension_router",
                               decode_change, DIMENSION_TABLES[event.message.topic])
        if change is None:  # a truncate too: dimensions keep their last versions
            continue
        key, version = version_of(change)
        await dimension_events.send(key=key.encode(),
                                    value=orjson.dumps({"kind": "version", "version": version}))
        _observe("analytics_dimension_router", started, _streamed(change))


@app.agent(dimension_events)
async def maintain_dimensions(stream):  # type: ignore[no-untyped-def]
    """Versions of each dimension, and the lines waiting for it (both keyed by dimension)."""
    async for event in stream.events():
        started = perf_counter()
        key = event.key.decode()
        message = await decoded(event, "analytics.dimensions", read_dimension_event)
        if message is None:
            continue
        kind = message["kind"]
        history: list[Version] | None = dimension_versions.get(key)
        if kind == "version":
            history = add_version(history, message["version"])
            dimension_versions[key] = history
            dimensions[key] = history
            if message["version"]["attrs"] is not None:
                await _release(key, history, waiting.pop(key, None))
        elif history and as_of(history, LATEST) is not None:  # arrived in the meantime
            await _release(key, history, {"lines": [[message["order_key"], message["line_id"]]]})
        else:
            parked = waiting.get(key) or {"partition": event.message.partition, "lines": []}
            parked["lines"].append([message["order_key"], message["line_id"]])
            waiting[key] = parked
        _observe("analytics_dimensions", started)


def read_dimension_event(value: bytes) -> dict[str, Any]:
    """A dimension event (a version, or a line waiting); ValueError when malformed."""
    try:
        message = orjson.loads(value)
        message["kind"]
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"bad dimension event: {exc!r}") from None
    return message  # type: ignore[no-any-return]


async def _release(key: str, history: list[Version], parked: dict[str, Any] | None) -> None:
    for order_key, line_id in (parked or {}).get("lines", ()):
        retry = {"line_id": line_id, "carried": {key: history}}
        order = order_key.encode()  # explicit: the partition of the order and its lines
        await line_retries.send(key=order, value=orjson.dumps(retry),
                                partition=murmur2(order, catalogue[LINE_RETRIES].partitions))


def _lookup(carried: dict[str, list[Version]]) -> Callable[[str, int], Version | None]:
    def lookup(key: str, lsn: int) -> Version | None:
        return as_of(dimensions.get(key) or carried.get(key), lsn)

    return lookup


def latest(key: str) -> dict[str, Any] | None:
    """Attributes of the latest known version of a dimension (left joins)."""
    version = as_of(dimensions.get(key), LATEST)
    return version["attrs"] if version else None


# ------------------------------------------------------------------------------ sales lines


@app.agent(raw_source(*ORDER_TABLES, LINE_RETRIES, SWEEPS))
async def enrich_sales(stream):  # type: ignore[no-untyped-def]
    """The order's state from its header and lines (one partition holds both) and the retries
    of lines that waited for a dimension; every line that can be joined goes to
    `analytics.sales_enriched`. A sweep request drops the partition's idle orders."""
    async for event in stream.events():
        if event.message.topic == SWEEPS:
            await _sweep_orders(event)
            continue
        started = perf_counter()
        # built before the state changes: the view and the table must agree when it is built
        view = sales_view.of(event.message.partition)
        carried: dict[str, list[Version]] = {}
        commit = None
        if event.message.topic == LINE_RETRIES:
            retry = await decoded(event, "analytics.sales", read_line_retry)
            key = event.key.decode()
            state: OrderState | None = orders.get(key)
            if retry is None or state is None:  # bad, or the order was swept meanwhile
                continue
            line_id, carried = retry
            if not state["lines"].get(line_id, {}).get("waiting"):
                line_ids, carried = [], {}
            else:
                line_ids = [line_id]
        else:
            change = await decoded(event, "analytics.sales", decode_change,
                                   ORDER_TABLES[event.message.topic])
            if change is None:
                continue
            key = change.order_key.decode()
            state = orders.get(key) or new_state()
            line_ids = (apply_order(state, change.op, change.row)
                        if change.table == "sales_orders"
                        else apply_line(state, change.op, change.row, change.lsn or 0))
            touch(state, change.commit_ts_ms)
            commit = _streamed(change)
        if state["order"] is not None:
            for line_id in line_ids:
                await _emit_line(view, key, state, line_id, carried)
        if settled(state):
            orders.pop(key, None)
        else:
            orders[key] = state
        _observe("analytics_sales", started, commit)


def read_line_retry(value: bytes) -> tuple[str, dict[str, list[Version]]]:
    """A line retry's line id and the dimension versions it carries; ValueError when malformed."""
    try:
        retry = orjson.loads(value)
        return str(retry["line_id"]), dict(retry["carried"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"bad line retry: {exc!r}") from None


async def _emit_line(view: SalesByDay, order_key: str, state: OrderState, line_id: str,
                     carried: dict[str, list[Version]]) -> None:
    """Emit the line if it can be joined, and move its contribution in the sales counters."""
    line = state["lines"][line_id]
    try:
        enriched = enrich_line(state["order"], line, _lookup(carried), datetime.now(UTC))
    except MissingDimension as missing:
        if line["waiting"] != missing.key:
            line["waiting"] = missing.key
            await dimension_events.send(key=missing.key.encode(), value=orjson.dumps(
                {"kind": "waiting", "order_key": order_key, "line_id": line["id"]}))
        return
    line["waiting"] = None
    await _emit(sales_enriched, line_id, enriched.model_dump_json().encode())
    counted = contribution(enriched)
    if counted != line["counted"]:  # no await from here: the view and the line move together
        move(view, line["counted"], counted)
        line["counted"] = counted
    if line["deleted"]:
        del state["lines"][line_id]


async def _sweep_orders(event: faust.EventT) -> None:
    """In the request's partition: drop the orders idle for the retention window, and the
    counters of days (or hours) before it, which no change can reach any more."""
    request = await read_request(event, "analytics.sales")
    if request is None:
        return
    partition = event.message.partition
    cutoff = request.at - timedelta(days=RETENTION_DAYS)
    cutoff_ms = int(cutoff.timestamp() * 1000)
    idle = await sweep(orders, lambda key: order_partition(key, COUNTER_PARTITIONS) == partition,
                       lambda state: idle_before(state, cutoff_ms))
    owner = f"|{partition_owner(partition)}"
    first_day = local_day(request.at) - timedelta(days=RETENTION_DAYS)
    old = await sweep(counters, lambda key: key.endswith(owner) and expired(key, first_day),
                      lambda _: True)
    sales_view.forget(partition)
    log.info("order sweep (%s) as of %s, partition %s: %s idle orders and %s counters dropped",
             request.reason, request.at.isoformat(), partition, idle, old)


# ------------------------------------------------------------------------ daily inventory


@app.agent(raw_source("inventory.position", SNAPSHOT_REQUESTS))
async def daily_inventory(stream):  # type: ignore[no-untyped-def]
    """Latest position per product×warehouse; a snapshot request emits a partition's rows."""
    async for event in stream.events():
        started = perf_counter()
        partition = event.message.partition
        if event.message.topic == SNAPSHOT_REQUESTS:
            request = await decoded(event, "analytics.inventory_daily",
                                    SnapshotRequest.model_validate_json)
            if request is not None:
                await _emit_snapshot(partition, request)
            continue
        position = await decoded(event, "analytics.inventory_daily",
                                 InventoryPosition.model_validate_json)
        if position is None:
            continue
        positions[position.key] = {"partition": partition,
                                   "position": orjson.loads(position.model_dump_json())}
        _observe("analytics_positions", started)


async def _emit_snapshot(partition: int, request: SnapshotRequest) -> None:
    at = datetime.now(UTC)
    emitted = 0
    for stored in list(positions.values()):
        if stored["partition"] != partition:
            continue
        row = daily_row(InventoryPosition.model_validate(stored["position"]), request.day,
                        latest, request.reason, at)
        await _emit(inventory_daily, daily_key(row.product_id, row.warehouse_id, row.day),
                    row.model_dump_json().encode())
        emitted += 1
    log.info("inventory snapshot %s (%s), partition %s: %s rows", request.day, request.reason,
             partition, emitted)


async def request_inventory_snapshot(reason: str, day: date | None = None) -> int:
    """Ask every partition's owner to emit its rows of `analytics.inventory_daily`."""
    request = SnapshotRequest(day=day or datetime.now(MX).date(), reason=reason,
                              requested_at=datetime.now(UTC)).model_dump_json().encode()
    parts = catalogue[SNAPSHOT_REQUESTS].partitions
    for partition in range(parts):
        await snapshot_requests.send(value=request, partition=partition)
    return parts


@app.crontab("59 23 * * *", timezone=MX, on_leader=True)
async def end_of_day_inventory() -> None:
    """The end-of-day inventory snapshot at 23:59 America/Mexico_City."""
    await request_inventory_snapshot("cierre")


# --------------------------------------------------------------------- alerts, deliveries


@app.agent(raw_source("alerts.stock"))
async def enrich_alerts(stream):  # type: ignore[no-untyped-def]
    """Stock alerts with names; counts alerts per day and open alerts per level."""
    async for event in stream.events():
        started = perf_counter()
        alert = await decoded(event, "analytics.alerts", StockAlert.model_validate_json)
        if alert is None:
            continue
        known = alert_levels.get(alert.key) or {"level": None, "event_id": None}
        if known["event_id"] == alert.event_id:
            continue  # redelivered
        await _emit(alerts_enriched, alert.key, enrich_alert(alert, latest).model_dump_json()
                    .encode())
        for level, change in open_level_changes(known["level"], alert).items():
            _count(event, "alerts_open", "-", (level,), change)
        if not (alert.resolved or alert.reminder):
            _count(event, "alerts", local_day(alert.at).isoformat(), (alert.level.value,))
        alert_levels[alert.key] = {"level": None if alert.resolved else alert.level.value,
                                   "event_id": alert.event_id}
        _observe("analytics_alerts", started)


@app.agent(raw_source(DELIVERIES))
async def track_deliveries(stream):  # type: ignore[no-untyped-def]
    """One `analytics.deliveries` record per stop change; counts deliveries on time."""
    async for event in stream.events():
        started = perf_counter()
        change = await decoded(event, "analytics.deliveries", decode_change, "deliveries")
        if change is None:
            continue
        stop = delivery_stop(change)
        await _emit(deliveries_out, str(stop.delivery_id), stop.model_dump_json().encode())
        result = outcome(change, stop)
        if result is not None:
            day, counts = result
            for name, n in counts.items():
                _count(event, "deliveries", day, (name,), n)
        _observe("analytics_deliveries", started, _streamed(change))


# ------------------------------------------------------------------- agent and messages


@app.agent(raw_source(*BUSINESS))
async def count_business(stream):  # type: ignore[no-untyped-def]
    """Conversations, sales closed by the agent, messages sent and failures, per day/hour."""
    async for event in stream.events():
        started = perf_counter()
        model, count = COUNT_OF[event.message.topic]
        record = await decoded(event, "analytics.business", model.model_validate_json)
        if record is None:
            continue
        count(event, record)
        _observe("analytics_business", started)


def _count_inbound(event: faust.EventT, message: InboundMessage) -> None:
    day = local_day(message.sent_at).isoformat()
    if conversations.get(message.from_phone) != day:
        conversations[message.from_phone] = day
        _count(event, "agent", day, ("conversations",))


def _count_message(event: faust.EventT, result: MessageResult) -> None:
    if result.status == "sent":
        _count(event, "messages", local_day(result.at).isoformat(), ("sent", result.channel))
    elif result.status == "failed":
        _count(event, "messages", local_day(result.at).isoformat(), ("failed", result.channel))
        _count(event, "errors", utc_hour(result.at), ("failed_messages",))


def _count_command(event: faust.EventT, result: CommandResult) -> None:
    if result.status == "failed":
        _count(event, "errors", utc_hour(result.at), ("failed_commands",))
    elif result.command_type == "create_sales_order" and result.status == "applied":
        _count(event, "agent", local_day(result.at).isoformat(), ("sales_closed",))


# each business topic's model and counter
COUNT_OF: dict[str, tuple[type[BaseModel], Callable[[faust.EventT, Any], None]]] = {
    "whatsapp.inbound": (InboundMessage, _count_inbound),
    "messages.status": (MessageResult, _count_message),
    "erp.commands.results": (CommandResult, _count_command)}


@app.agent(raw_source("forecasts.insights"))
async def collect_insights(stream):  # type: ignore[no-untyped-def]
    """Keep the newest forecast run's insights, with product and branch names."""
    async for event in stream.events():
        started = perf_counter()
        insight = await decoded(event, "analytics.insights", DemandInsight.model_validate_json)
        if insight is None:
            continue
        product = latest(dimension_key("product", insight.product_id)) or {}
        branch = latest(dimension_key("warehouse", insight.warehouse_id)) or {}
        item = {**orjson.loads(insight.model_dump_json()),
                "product": " ".join(filter(None, (product.get("model"),
                                                  product.get("tire_size")))) or None,
                "sku": product.get("sku"), "branch": branch.get("name")}
        key = counter_key(INSIGHTS_DOMAIN, "-", partition_owner(event.message.partition))
        kept = keep_latest((counters.get(key) or {}).get("items", []), item)
        counters[key] = {"items": kept}
        _observe("analytics_insights", started)


def counter_items() -> tuple[dict[str, Bucket], set[str]]:
    """This worker's counters (the sales counters too) for the partitions it actively owns,
    and those partitions' owner names (`p<n>`)."""
    owned = owned_partitions(LINE_RETRIES)
    items = {key: bucket for key, bucket in list(counters.items())
             if int(key.rsplit("|p", 1)[1]) in owned}
    for partition in sorted(owned):
        owner = partition_owner(partition)
        items.update((counter_key("sales", day, owner), copy_of(bucket))
                     for day, bucket in sales_view.of(partition).items())
    return items, {partition_owner(p) for p in owned}


def waiting_lines() -> dict[str, int]:
    """Lines waiting per dimension kind, in this worker's active partitions."""
    out = dict.fromkeys(KIND_OF_TABLE.values(), 0)
    owned = owned_partitions(DIMENSION_EVENTS)
    for key, parked in list(waiting.items()):
        if parked and parked["partition"] in owned:
            kind = key.split(":", 1)[0]
            out[kind] += len(parked["lines"])
    return out
