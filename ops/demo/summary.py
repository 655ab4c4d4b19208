"""The demo's live terminal summary: events per topic and the latest inventory changes."""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque

import orjson
from aiokafka import TopicPartition
from rich.console import Group
from rich.table import Table

from schemas.settings import Settings
from schemas.topics import load_catalogue
from transport.clients import aiokafka_consumer


class LiveSummary:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.counts: Counter[str] = Counter()
        self.positions: deque[dict] = deque(maxlen=8)
        self.extra: deque[str] = deque(maxlen=12)
        self.started = time.monotonic()

    async def follow(self, stop: asyncio.Event) -> None:
        topics = [s.name for s in load_catalogue().all_specs()]
        consumer = aiokafka_consumer(self.settings)
        await consumer.start()
        try:
            parts = [TopicPartition(t, p) for t in topics
                     for p in (consumer.partitions_for_topic(t) or set())]
            if not parts:
                await consumer.stop()
                consumer = aiokafka_consumer(self.settings)
                await consumer.start()
                await asyncio.sleep(1)
                parts = [TopicPartition(t, p) for t in topics
                         for p in (consumer.partitions_for_topic(t) or set())]
            consumer.assign(parts)
            await consumer.seek_to_beginning(*parts)
            while not stop.is_set():
                batch = await consumer.getmany(timeout_ms=300, max_records=5000)
                for tp, records in batch.items():
                    self.counts[tp.topic] += len(records)
                    if tp.topic == "inventory.position":
                        for r in records[-3:]:
                            if r.value:
                                self.positions.append(orjson.loads(r.value))
        finally:
            await consumer.stop()

    def render(self) -> Group:
        topics = Table(title="events per topic", expand=False)
        topics.add_column("topic")
        topics.add_column("events", justify="right")
        for topic, n in sorted(self.counts.items()):
            style = "red" if topic.endswith(".dlq") else ""
            topics.add_row(topic, f"{n:,}", style=style)
        inv = Table(title="latest inventory positions")
        for col in ("product", "warehouse", "on hand", "reserved", "on order", "available"):
            inv.add_column(col, justify="right")
        for p in list(self.positions)[::-1]:
            inv.add_row(str(p["product_id"]), str(p["warehouse_id"]), str(p["on_hand"]),
                        str(p["reserved"]), str(p["on_order"]),
                        str(p["on_hand"] - p["reserved"]))
        elapsed = time.monotonic() - self.started
        parts: list = [f"[bold]TopLlantas Stream demo[/bold] — {elapsed:,.0f} s — Ctrl-C stops",
                       topics, inv]
        parts.extend(self.extra)
        return Group(*parts)
