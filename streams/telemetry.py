"""What every worker publishes about itself, whatever flows it runs (streams/flows.py).

    GET /metrics   Prometheus text format of this process (no token: bind the web port privately)

- Faust's own per-process message counts per topic, since start or local midnight, published
  every 2 s under the worker's id into the GlobalTable `analytics_dashboard`, which the status
  dashboard sums over workers. Its changelog is shared by every flow group's Faust app (its name
  is built from `FAUST_APP_ID`, not from the app's id), so a dashboard on the analytics workers
  sees the stock, agent and sink workers too.
"""

from __future__ import annotations

import os
import socket
from collections import Counter as Tally
from datetime import datetime

import faust
from faust.types import TP
from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from processors.analytics.calendar import MX
from processors.analytics.counters import counter_key
from schemas.settings import get_settings
from streams.app import app, catalogue

WORKER_ID = f"{socket.gethostname()}:{get_settings().faust_web_port}:{os.getpid()}"


class SharedGlobalTable(faust.GlobalTable):
    """A GlobalTable whose changelog is the same topic for every flow group's app."""

    def _changelog_topic_name(self) -> str:
        return f"{get_settings().faust_app_id}-{self.name}-changelog"


# Business counters (streams.analytics) and every worker's message counts, for the dashboard.
published = app.tables.add(SharedGlobalTable(
    app, name="analytics_dashboard", default=None, partitions=1, recovery_buffer_size=1,
    use_partitioner=True))


class DayCounts:
    """Faust's per-process message counts since the process started or local midnight.

    Process bookkeeping, not state: what a crash loses is this process's last 2 s of counts.
    """

    def __init__(self) -> None:
        self.day = ""
        self.base_in: Tally[str] = Tally()
        self.base_out: Tally[str] = Tally()

    def today(self, day: str) -> tuple[dict[str, int], dict[str, int]]:
        received = Tally(app.monitor.messages_received_by_topic)
        sent = Tally(app.monitor.messages_sent_by_topic)
        if self.day and day != self.day:  # midnight: start counting the new day
            self.base_in, self.base_out = received, sent
        self.day = day
        return _business(received - self.base_in), _business(sent - self.base_out)


day_counts = DayCounts()


def _business(counts: Tally[str]) -> dict[str, int]:
    """Drop Faust's own topics (changelogs, the leader topic)."""
    return {t: n for t, n in counts.items() if t in catalogue.topics or t.endswith(".dlq")}


def ready() -> bool:
    """Tables recovered and no rebalance under way: safe to publish from this worker."""
    return not app.rebalancing and app.tables.recovery.completed.is_set()


async def partition_lags(topics: set[str]) -> dict[str, list[int | None]]:
    """Records this worker has still to process in each of its partitions of `topics` (None:
    not known yet), by topic: the partition's end less the offset after the last record an
    agent finished with.

    The end is the fetch's highwater, or the fetcher's position once that is past it: the
    embedded broker (Tansu) reports the first offset of a partition's last batch + 1 as its
    highwater, which undercounts a last batch still being processed."""
    lags: dict[str, list[int | None]] = {}
    for tp in app.consumer.assignment():
        if tp.topic in topics:
            highwater, fetched = app.consumer.highwater(tp), await app.consumer.position(tp)
            done = await _processed_up_to(tp)
            end = None if highwater is None else max(highwater, fetched or 0)
            lags.setdefault(tp.topic, []).append(
                None if end is None or done is None else max(0, end - done))
    return lags


async def _processed_up_to(tp: TP) -> int | None:
    """The offset after the last record of `tp` an agent acknowledged (finished), else the
    committed one, else the partition's first (nothing processed yet). Not aiokafka's
    `position`: that is the fetcher's, and counts the records still waiting in the streams'
    buffers (thousands while a snapshot loads) as read. Faust keeps the acknowledged offsets
    until it commits them, and has no public reader of them or of the committed offset."""
    consumer = app.consumer
    acked = consumer._acked.get(tp)  # noqa: SLF001
    if acked:
        return max(acked) + 1
    committed = consumer._committed_offset.get(tp)  # noqa: SLF001
    if committed is not None:
        return committed
    return (await consumer.earliest_offsets(tp)).get(tp)


@app.timer(interval=2.0)
async def publish_event_counts() -> None:
    """This worker's messages in and out per topic today, for every dashboard."""
    if not ready():
        return
    day = datetime.now(MX).date().isoformat()
    received, sent = day_counts.today(day)
    for domain, counts in (("events_in", received), ("events_out", sent)):
        key = counter_key(domain, day, f"w{WORKER_ID}")
        if published.get(key) != counts:
            published[key] = counts


@app.page("/metrics")
async def prometheus_metrics(web: View, request: Request) -> Response:
    return web.bytes(generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})
