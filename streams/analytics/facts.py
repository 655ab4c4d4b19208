"""The other enriched topics and the business counters: end-of-day inventory, alerts,
deliveries, conversations and messages, forecast insights (the flow's diagram:
streams/analytics/__init__.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from time import perf_counter
from typing import Any

import faust
import orjson
from pydantic import BaseModel

from processors.analytics.alerts import enrich_alert, open_level_changes
from processors.analytics.calendar import MX, local_day, utc_hour
from processors.analytics.counters import counter_key, partition_owner
from processors.analytics.deliveries import delivery_stop, outcome
from processors.analytics.dimensions import (
    dimension_key,
)
from processors.analytics.insights import keep_latest
from processors.analytics.inventory_daily import daily_key, daily_row
from processors.change_events import decode_change
from schemas.alerts import StockAlert
from schemas.analytics import SnapshotRequest
from schemas.commands import CommandResult, MessageResult
from schemas.events import InventoryPosition
from schemas.forecasts import DemandInsight
from schemas.whatsapp import InboundMessage
from streams.analytics.state import (
    BUSINESS,
    DELIVERIES,
    INSIGHTS_DOMAIN,
    SNAPSHOT_REQUESTS,
    alert_levels,
    alerts_enriched,
    conversations,
    count,
    counters,
    deliveries_out,
    emit,
    inventory_daily,
    latest,
    log,
    observe,
    positions,
    snapshot_requests,
    streamed,
)
from streams.app import app, catalogue
from streams.dead_letters import decoded, decoded_events
from streams.topics import raw_source

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
        observe("analytics_positions", started)


async def _emit_snapshot(partition: int, request: SnapshotRequest) -> None:
    at = datetime.now(UTC)
    emitted = 0
    for stored in list(positions.values()):
        if stored["partition"] != partition:
            continue
        row = daily_row(InventoryPosition.model_validate(stored["position"]), request.day,
                        latest, request.reason, at)
        await emit(inventory_daily, daily_key(row.product_id, row.warehouse_id, row.day),
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
    async for event, alert in decoded_events(stream, "analytics.alerts",
                                             StockAlert.model_validate_json):
        started = perf_counter()
        known = alert_levels.get(alert.key) or {"level": None, "event_id": None}
        if known["event_id"] == alert.event_id:
            continue  # redelivered
        await emit(alerts_enriched, alert.key, enrich_alert(alert, latest).model_dump_json()
                    .encode())
        for level, change in open_level_changes(known["level"], alert).items():
            count(event, "alerts_open", "-", (level,), change)
        if not (alert.resolved or alert.reminder):
            count(event, "alerts", local_day(alert.at).isoformat(), (alert.level.value,))
        alert_levels[alert.key] = {"level": None if alert.resolved else alert.level.value,
                                   "event_id": alert.event_id}
        observe("analytics_alerts", started)


@app.agent(raw_source(DELIVERIES))
async def track_deliveries(stream):  # type: ignore[no-untyped-def]
    """One `analytics.deliveries` record per stop change; counts deliveries on time."""
    async for event, change in decoded_events(stream, "analytics.deliveries", decode_change,
                                              "deliveries"):
        started = perf_counter()
        stop = delivery_stop(change)
        await emit(deliveries_out, str(stop.delivery_id), stop.model_dump_json().encode())
        result = outcome(change, stop)
        if result is not None:
            day, counts = result
            for name, n in counts.items():
                count(event, "deliveries", day, (name,), n)
        observe("analytics_deliveries", started, streamed(change))


# ------------------------------------------------------------------- agent and messages


@app.agent(raw_source(*BUSINESS))
async def count_business(stream):  # type: ignore[no-untyped-def]
    """Conversations, sales closed by the agent, messages sent and failures, per day/hour."""
    async for event in stream.events():
        started = perf_counter()
        model, counter = COUNT_OF[event.message.topic]
        record = await decoded(event, "analytics.business", model.model_validate_json)
        if record is None:
            continue
        counter(event, record)
        observe("analytics_business", started)


def _count_inbound(event: faust.EventT, message: InboundMessage) -> None:
    day = local_day(message.sent_at).isoformat()
    if conversations.get(message.from_phone) != day:
        conversations[message.from_phone] = day
        count(event, "agent", day, ("conversations",))


def _count_message(event: faust.EventT, result: MessageResult) -> None:
    if result.status == "sent":
        count(event, "messages", local_day(result.at).isoformat(), ("sent", result.channel))
    elif result.status == "failed":
        count(event, "messages", local_day(result.at).isoformat(), ("failed", result.channel))
        count(event, "errors", utc_hour(result.at), ("failed_messages",))


def _count_command(event: faust.EventT, result: CommandResult) -> None:
    if result.status == "failed":
        count(event, "errors", utc_hour(result.at), ("failed_commands",))
    elif result.command_type == "create_sales_order" and result.status == "applied":
        count(event, "agent", local_day(result.at).isoformat(), ("sales_closed",))


# each business topic's model and counter
COUNT_OF: dict[str, tuple[type[BaseModel], Callable[[faust.EventT, Any], None]]] = {
    "whatsapp.inbound": (InboundMessage, _count_inbound),
    "messages.status": (MessageResult, _count_message),
    "erp.commands.results": (CommandResult, _count_command)}


@app.agent(raw_source("forecasts.insights"))
async def collect_insights(stream):  # type: ignore[no-untyped-def]
    """Keep the newest forecast run's insights, with product and branch names."""
    async for event, insight in decoded_events(stream, "analytics.insights",
                                               DemandInsight.model_validate_json):
        started = perf_counter()
        product = latest(dimension_key("product", insight.product_id)) or {}
        branch = latest(dimension_key("warehouse", insight.warehouse_id)) or {}
        item = {**orjson.loads(insight.model_dump_json()),
                "product": " ".join(filter(None, (product.get("model"),
                                                  product.get("tire_size")))) or None,
                "sku": product.get("sku"), "branch": branch.get("name")}
        key = counter_key(INSIGHTS_DOMAIN, "-", partition_owner(event.message.partition))
        kept = keep_latest((counters.get(key) or {}).get("items", []), item)
        counters[key] = {"items": kept}
        observe("analytics_insights", started)
