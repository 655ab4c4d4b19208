"""What the stream benchmarks do on the real stack besides their load: read whole topics, and
let a buyer write to the business number (ops/bench/buyers.py, ops/bench/stock_stream.py)."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, Producer, TopicPartition

from schemas.whatsapp import InboundMessage

T = TypeVar("T")


def read_topics(bootstrap: str, topics: list[str], decode: Callable[[Message], T],
                idle: float = 1.0, group: str = "bench-reader") -> list[T]:
    """`decode` of every record now in `topics` (tombstones aside), from the beginning; stops
    after `idle` seconds without a new record (the embedded broker's end offsets are not
    reliable, so reading to them could stop early)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                         "enable.auto.commit": False, "fetch.wait.max.ms": 100})
    try:
        consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t in topics
                         for p in consumer.list_topics(t, timeout=10).topics[t].partitions])
        out: list[T] = []
        last = time.monotonic()
        while time.monotonic() - last < idle:
            batch = [decode(m) for m in consumer.consume(10_000, timeout=0.2)
                     if not m.error() and m.value() is not None]
            if batch:
                out.extend(batch)
                last = time.monotonic()
        return out
    finally:
        consumer.close()


def buyer_writes(bootstrap: str, whatsapp_url: str, phone: str, message_id: str) -> None:
    """The buyer writes "hola": their 24-hour window opens at the WhatsApp double and, through
    `whatsapp.inbound` (as the webhook would enqueue it), in the worker's buyer loop."""
    request = urllib.request.Request(
        f"{whatsapp_url}/_double/inbound", method="POST",
        data=json.dumps({"phone": phone, "text": "hola"}).encode(),
        headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=5).close()
    now = datetime.now(UTC)
    message = InboundMessage(message_id=message_id, from_phone=phone, kind="text", text="hola",
                             sent_at=now, received_at=now)
    producer = Producer({"bootstrap.servers": bootstrap, "partitioner": "murmur2_random"})
    producer.produce("whatsapp.inbound", key=phone.encode(), value=message.model_dump_json())
    producer.flush(10)
