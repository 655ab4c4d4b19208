"""The analytics flow's shared state: its topics, its tables, the sales view derived from
`analytics_orders`, the dashboard's counters and the helpers every analytics agent uses
(`count`, `observe`, `emit`). The agents are in `sales.py` (the sales-line join) and
`facts.py` (the other enriched topics and the business counters); `streams.dashboard` reads
`counter_items` and `waiting_lines`."""

from __future__ import annotations

import logging
from time import perf_counter, time
from typing import Any

import faust

from processors.analytics.counters import Bucket, bump, counter_key, partition_owner
from processors.analytics.dimensions import (
    KIND_OF_TABLE,
    as_of,
)
from processors.analytics.sales_view import (
    SalesByDay,
    copy_of,
    sales_by_day,
)
from processors.change_events import Change
from schemas.settings import get_settings
from streams import metrics
from streams.app import app, catalogue
from streams.order_sweeps import order_partition
from streams.table_stores import order_table_options
from streams.topics import raw_topic

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
# one record per open order: on RocksDB by default (streams/table_stores.py)
orders = app.Table("analytics_orders", default=None, partitions=catalogue[LINE_RETRIES].partitions,
                   **order_table_options("analytics_orders"))
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


def count(event: faust.EventT, domain: str, period: str, path: tuple[str, ...],
           amount: float = 1) -> None:
    """Add to a dashboard counter owned by the current event's partition."""
    key = counter_key(domain, period, partition_owner(event.message.partition))
    counters[key] = bump(counters.get(key), path, amount)


def observe(agent: str, started: float, commit_ts_ms: int | None = None) -> None:
    metrics.EVENTS.labels(agent=agent).inc()
    metrics.PROCESSING_SECONDS.labels(agent=agent).observe(perf_counter() - started)
    if commit_ts_ms:
        metrics.EVENT_AGE_SECONDS.labels(agent=agent).observe(max(0.0, time() - commit_ts_ms / 1e3))


async def emit(topic: faust.TopicT, key: str, value: bytes) -> None:
    await topic.send(key=key.encode(), value=value)
    metrics.EMITTED.labels(topic=topic.get_topic_name()).inc()


def streamed(change: Change) -> int | None:
    """The commit time of a streamed change; None for snapshot rows (no meaningful age)."""
    return None if change.snapshot else change.commit_ts_ms


def latest(key: str) -> dict[str, Any] | None:
    """Attributes of the latest known version of a dimension (left joins)."""
    version = as_of(dimensions.get(key), LATEST)
    return version["attrs"] if version else None

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

