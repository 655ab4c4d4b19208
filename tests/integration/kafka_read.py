"""Read whole topics from the real broker (no consumer group: partitions are assigned)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]


def read_all(bootstrap: str, topics: list[str], idle: float = 2.0, max_wait: float = 90.0
             ) -> list[Record]:
    """Everything currently in `topics`: stops after `idle` seconds without a new record.

    (The embedded broker's high watermark is unreliable for batched producers, so reading up
    to the end offset could stop early; idling is exact enough for tests.)
    """
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "test-reader",
                         "enable.auto.commit": False, "fetch.wait.max.ms": 100})
    try:
        metadata = consumer.list_topics(timeout=10)
        parts = [TopicPartition(t, p, OFFSET_BEGINNING)
                 for t in topics if t in metadata.topics
                 for p in metadata.topics[t].partitions]
        consumer.assign(parts)
        out: list[Record] = []
        deadline = time.monotonic() + max_wait
        last = time.monotonic()
        while time.monotonic() - last < idle and time.monotonic() < deadline:
            batch = consumer.consume(10_000, timeout=0.2)
            for msg in batch:
                if msg.error():
                    continue
                out.append(Record(msg.topic(), msg.partition(), msg.offset(), msg.key(),
                                  msg.value(), tuple(msg.headers() or ())))
            if batch:
                last = time.monotonic()
        return out
    finally:
        consumer.close()
