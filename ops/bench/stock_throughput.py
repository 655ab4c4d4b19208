"""Stock events/s through a real `--flows stock` worker, its CPU cost per event, and Faust's floor.

Wall-clock events/s on a shared two-core VM moves with the neighbours (the same run has measured
566 and 1,701 events/s); the CPU time the worker process spends per event moves less, and says
what one worker does per core: 1e6 / (CPU µs per event) events/s (ops/bench/cpu.py). The
broker's CPU per event is measured beside it (on one machine the two share the cores).

The floor is a bare Faust app (ops/bench/faust_floor.py) with the app's options on the same
broker: the same records, decoded, one table row per key, and in a second variant sent twice
more (three records produced per event, about what a stock event produces). Its topic names are
here, so the benchmark reads them without building its app. Its CPU per event is what Faust and
its Kafka client cost before any of our work; the stock worker's ratio to it is our share.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from aiokafka.partitioner import DefaultPartitioner
from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, Producer, TopicPartition

from ops.bench.cpu import cpu_seconds
from ops.supervisor import wait_for

STOCK_TOPIC = "erp.public.stock"
FLOOR_SOURCE, FLOOR_DONE, FLOOR_END = "bench.floor", "bench.floor_done", b"end"
FLOOR_PARTITIONS = 4  # as the stock topic's
PROBE_RESTOCK = 1_000  # far above any probe's critical level, so a drop to 0 always alerts

Key = tuple[int, int]
Record = tuple[bytes, bytes, int | None]  # key, value, partition (None: the partitioner's)


@dataclass(frozen=True)
class Finish:
    """Records appended after the load, and how their outputs show the load was processed:
    `done_of(key, value)` names the finish an output record reports (None: not one of them)."""

    records: list[Record]
    output_topic: str
    done_of: Callable[[bytes, bytes], Hashable | None]
    expected: frozenset[Hashable]


def stock_key(key: Key) -> bytes:
    return orjson.dumps({"product_id": key[0], "warehouse_id": key[1]})


def partition_of(key: bytes, partitions: int) -> int:
    return DefaultPartitioner()(key, list(range(partitions)), list(range(partitions)))


def synthetic_changes(background: list[Key], on_hand: dict[Key, int],
                      popularity: dict[Key, float], events: int, run: int
                      ) -> tuple[list[Record], int]:
    """`events` CDC stock changes drawn by popularity: sales in sets of 1-4 tires, a receipt back
    to the starting stock once a key is down to a week of sales. Returns them and the next LSN
    (each run's LSNs are above the previous run's, so none is ignored as older)."""
    rng = random.Random(100 + run)
    base_lsn = 10**13 * (run + 1)
    level = dict(on_hand)
    draws = rng.choices(background, weights=[popularity[key] for key in background], k=events)
    records: list[Record] = []
    for i, key in enumerate(draws):
        low = level[key] <= popularity[key] * 7
        level[key] = on_hand[key] if low else max(0, level[key] - rng.choice((1, 2, 4, 4)))
        records.append(stock_change(key, level[key], base_lsn + i))
    return records, base_lsn + events


def stock_change(key: Key, value: int, lsn: int) -> Record:
    row = {"product_id": key[0], "warehouse_id": key[1], "on_hand": value, "reserved": 0,
           "in_transit": 0, "updated_at": datetime.now(UTC).isoformat()}
    return stock_key(key), orjson.dumps({
        "before": None, "after": row, "op": "u", "ts_ms": 0,
        "source": {"ts_ms": 0, "db": "erp", "schema": "public", "table": "stock",
                   "lsn": lsn}}), None


def critical_finish(probes: list[Key], partitions: int, lsn: int) -> Finish:
    """One probe per partition restocked (not critical) and then dropped to 0: done when each
    one's critical alert from this drop is on `alerts.stock` (the alert's time is the stock
    row's, so an earlier run's alert of the same probe, re-read from the end of the broker's
    last batch, does not count)."""
    since_ms = int(datetime.now(UTC).timestamp() * 1000)
    first: dict[int, Key] = {}
    for key in probes:
        first.setdefault(partition_of(stock_key(key), partitions), key)
    records: list[Record] = []
    for n, key in enumerate(first.values()):
        records += [stock_change(key, PROBE_RESTOCK, lsn + 2 * n),
                    stock_change(key, 0, lsn + 2 * n + 1)]

    def done_of(_: bytes, value: bytes) -> Key | None:
        alert = orjson.loads(value)
        at_ms = int(datetime.fromisoformat(alert["at"]).timestamp() * 1000)
        if alert["level"] != "critico" or alert["resolved"] or at_ms < since_ms:
            return None
        return alert["product_id"], alert["warehouse_id"]

    return Finish(records, "alerts.stock", done_of, frozenset(first.values()))


def floor_finish(tag: str) -> Finish:
    """An end marker in every partition of the floor's topic, echoed to its done topic."""
    keys = [f"{tag}:{p}".encode() for p in range(FLOOR_PARTITIONS)]
    return Finish([(key, FLOOR_END, p) for p, key in enumerate(keys)],
                  FLOOR_DONE, lambda key, _: key, frozenset(keys))


def timed_run(bootstrap: str, topic: str, load: list[Record], finish: Finish,
              pids: dict[str, int], group: str) -> dict[str, float]:
    """Produce `load` then `finish.records` onto `topic` as fast as the client can; time until
    every expected finish shows on its output topic. Returns events/s, output records per 1,000
    events, and the CPU µs per event of each process in `pids`."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                         "enable.auto.commit": False, "fetch.wait.max.ms": 5})
    out = finish.output_topic
    parts = consumer.list_topics(out, timeout=10).topics[out].partitions
    consumer.assign([TopicPartition(out, p, OFFSET_END) for p in parts])
    consumer.consume(100, timeout=1.0)
    producer = Producer({"bootstrap.servers": bootstrap, "partitioner": "murmur2_random",
                         "linger.ms": 5})
    cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    began = time.perf_counter()
    for i, (key, value, partition) in enumerate([*load, *finish.records]):
        if partition is None:
            producer.produce(topic, key=key, value=value)
        else:
            producer.produce(topic, key=key, value=value, partition=partition)
        if i % 10_000 == 0:
            producer.poll(0)
    producer.flush(60)
    waiting = set(finish.expected)
    outputs = 0
    deadline = time.perf_counter() + 600
    while waiting and time.perf_counter() < deadline:
        for msg in consumer.consume(10_000, timeout=0.1):
            if msg.error() or msg.value() is None:
                continue
            outputs += 1
            waiting.discard(finish.done_of(msg.key(), msg.value()))
    elapsed = time.perf_counter() - began
    cpu_after = {name: cpu_seconds(pid) for name, pid in pids.items()}
    consumer.close()
    if waiting:
        raise TimeoutError(f"the worker did not finish {topic} within 600 s")
    total = len(load) + len(finish.records)
    return {"events_per_s": total / elapsed, "outputs_per_1000": outputs * 1000 / total,
            **{f"{name}_cpu_us": (cpu_after[name] - cpu_before[name]) * 1e6 / total
               for name in pids}}


def wait_floor_ready(bootstrap: str, tag: str) -> None:
    """Until the floor worker has created its topic and echoed this `tag`'s marker from each
    partition (its done topic is created by its first echo)."""
    admin = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-floor-ready"})

    def has(topic: str) -> bool:
        return topic in admin.list_topics(timeout=5).topics

    try:
        wait_for(lambda: has(FLOOR_SOURCE), 120, "the floor worker's topic", interval=1)
        producer = Producer({"bootstrap.servers": bootstrap})
        ready = floor_finish(tag)
        for key, value, partition in ready.records:
            producer.produce(FLOOR_SOURCE, key=key, value=value, partition=partition)
        producer.flush(30)
        wait_for(lambda: has(FLOOR_DONE), 120, "the floor worker's first echo", interval=1)
        parts = admin.list_topics(FLOOR_DONE, timeout=5).topics[FLOOR_DONE].partitions
        admin.assign([TopicPartition(FLOOR_DONE, p, OFFSET_BEGINNING) for p in parts])
        waiting = set(ready.expected)
        wait_for(lambda: waiting.difference_update(
            m.key() for m in admin.consume(100, timeout=0.5) if not m.error()) or not waiting,
                 120, "the floor worker", interval=0.5)
    finally:
        admin.close()
