"""Daily demand per product×warehouse from CDC (sales order headers + lines).

erp.public.sales_orders ┐ (co-partitioned by order: topics.yaml `partition_by`)
erp.public.sales_order_lines ┼─> table `sales_order_state` (by order key)
orders.sweeps (daily) ───────┘   (orders out of the retention window leave it)
    ─> demand.line_contributions (by stock key) ─> table `demand_history`
    ─> demand.daily (by stock key, only when the daily totals changed)

The stock key is byte-identical to the key of `erp.public.stock`, so `demand.daily` is
co-partitioned with `inventory.position` and the alert agent sees both for a key on one worker.
"""

from __future__ import annotations

import logging

import faust

from processors.change_events import decode_change
from processors.inventory.demand import (
    DemandHistory,
    SalesOrderState,
    apply_line_demand,
    apply_sales_change,
    local_day,
    sweepable,
)
from schemas.demand import LineDemand
from schemas.events import stock_table_key
from streams.app import app, catalogue
from streams.dead_letters import dead_letter, decoded, decoded_events
from streams.inventory import EVENTS, stock_key
from streams.order_sweeps import SWEEPS, order_partition, read_request, sweep
from streams.table_stores import order_table_options
from streams.topics import raw_source, raw_topic

log = logging.getLogger("topllantas.demand")
ORDERS = catalogue.cdc_topic("sales_orders").name
ORDER_LINES = catalogue.cdc_topic("sales_order_lines").name
TABLE_OF = {ORDERS: "sales_orders", ORDER_LINES: "sales_order_lines"}
ORDER_PARTITIONS = catalogue.cdc_topic("sales_orders").partitions

sales_source = raw_source(ORDERS, ORDER_LINES, SWEEPS)
line_contributions = raw_topic("demand.line_contributions")
daily_demand = raw_topic("demand.daily")

order_table = app.Table("sales_order_state", default=None,
                        partitions=catalogue.cdc_topic("sales_orders").partitions,
                        **order_table_options("sales_order_state"))
demand_table = app.Table("demand_history", default=None,
                         partitions=catalogue["demand.line_contributions"].partitions)


@app.agent(sales_source)
async def track_sales_orders(stream):  # type: ignore[no-untyped-def]
    """Each line's absolute demand, from its header's status, warehouse and date."""
    async for event in stream.events():
        if event.message.topic == SWEEPS:
            await _sweep_orders(event)
            continue
        change = await decoded(event, "demand.orders", decode_change,
                               TABLE_OF[event.message.topic])
        if change is None:
            continue
        key = change.order_key.decode()
        state = SalesOrderState.from_dict(order_table.get(key))
        try:
            lines = apply_sales_change(state, change.table, change.op, change.row,
                                       at_ms=change.commit_ts_ms, snapshot=change.snapshot)
        except (KeyError, TypeError, ValueError) as exc:
            await dead_letter(event, exc, "demand.orders")
            continue
        order_table[key] = state.to_dict()
        for line in lines:
            await line_contributions.send(key=stock_key(line.product_id, line.warehouse_id),
                                          value=line.model_dump_json().encode())
        EVENTS.labels(agent="demand_orders").inc()


async def _sweep_orders(event: faust.EventT) -> None:
    """Drop this partition's orders out of the retention window (processors' `sweepable`)."""
    request = await read_request(event, "demand.orders")
    if request is None:
        return
    partition = event.message.partition
    today = local_day(request.at)
    gone = await sweep(
        order_table, lambda key: order_partition(key, ORDER_PARTITIONS) == partition,
        lambda stored: sweepable(SalesOrderState.from_dict(stored), today))
    log.info("order sweep (%s) as of %s, partition %s: %s orders dropped", request.reason,
             today, partition, gone)


@app.agent(line_contributions)
async def maintain_demand(stream):  # type: ignore[no-untyped-def]
    """Daily buckets per product×warehouse; publishes `demand.daily` when they change."""
    async for event, line in decoded_events(stream, "demand.daily",
                                            LineDemand.model_validate_json):
        key = stock_table_key(line.product_id, line.warehouse_id)
        stored = demand_table.get(key)
        history = (DemandHistory.from_dict(stored) if stored
                   else DemandHistory(line.product_id, line.warehouse_id))
        try:
            changed = apply_line_demand(history, line)
        except ValueError as exc:
            await dead_letter(event, exc, "demand.daily")
            continue
        if changed:
            demand_table[key] = history.to_dict()
            await daily_demand.send(key=event.key,
                                    value=history.daily(line.snapshot).model_dump_json().encode())
        EVENTS.labels(agent="demand_daily").inc()
