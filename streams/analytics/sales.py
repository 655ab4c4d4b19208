"""The sales-line join: dimension versions (products, brands, categories, customers,
warehouses) and the order state per order, onto `analytics.sales_enriched`; a line that waits for
a dimension is parked by dimension and retried when it arrives (the flow's diagram:
streams/analytics/__init__.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from time import perf_counter
from typing import Any

import faust
import orjson
from confluent_kafka import murmur2

from processors.analytics.calendar import local_day
from processors.analytics.counters import expired, partition_owner
from processors.analytics.dimensions import (
    Version,
    add_version,
    as_of,
    version_of,
)
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
    move,
)
from processors.change_events import decode_change
from streams.analytics.state import (
    COUNTER_PARTITIONS,
    DIMENSION_TABLES,
    LATEST,
    LINE_RETRIES,
    ORDER_TABLES,
    RETENTION_DAYS,
    counters,
    dimension_events,
    dimension_versions,
    dimensions,
    emit,
    line_retries,
    log,
    observe,
    orders,
    sales_enriched,
    sales_view,
    streamed,
    waiting,
)
from streams.app import app, catalogue
from streams.dead_letters import decoded, decoded_events
from streams.order_sweeps import SWEEPS, order_partition, read_request, sweep
from streams.topics import raw_source

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
        observe("analytics_dimension_router", started, streamed(change))


@app.agent(dimension_events)
async def maintain_dimensions(stream):  # type: ignore[no-untyped-def]
    """Versions of each dimension, and the lines waiting for it (both keyed by dimension)."""
    async for event, message in decoded_events(stream, "analytics.dimensions",
                                               read_dimension_event):
        started = perf_counter()
        key = event.key.decode()
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
        observe("analytics_dimensions", started)


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
            commit = streamed(change)
        if state["order"] is not None:
            for line_id in line_ids:
                await _emit_line(view, key, state, line_id, carried)
        if settled(state):
            orders.pop(key, None)
        else:
            orders[key] = state
        observe("analytics_sales", started, commit)


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
    await emit(sales_enriched, line_id, enriched.model_dump_json().encode())
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
