"""`topllantas bench stock`, the latency rows: ERP stock change -> the critical alert, and -> the
buyer's phone, through CDC, a `--flows stock` worker, a `--flows sinks` worker and the WhatsApp
double (ops/bench/stock_stream.py starts them).

What reaches the phone is the buyer's attention budget (streams/buyer_attention.py): the first
critical of a gathering window goes out at once, the window's others as one list at its end,
and nothing goes free-form while the buyer's 24-hour window is closed (an opener template goes
instead, and the items wait for the buyer's answer). So, as a real buyer does, the bench's
buyers write first, and two things are timed from each probe's drop to 0 in the ERP:

- the critical alert on `alerts.stock` (every probe drop: the stock path itself);
- the buyer's message of its own for it, a gathering window's first critical: its
  `messages.outbound` record and its request at the double (matched through the sink's
  results, `messages.status`). The worker runs with a `WINDOW_S` gathering window (a 10-minute
  one would give one sample per buyer per bench) and a daily cap that never binds (the cap is
  `bench buyers`' subject); each run starts once every buyer's window is free again.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
import httpx
import orjson
from confluent_kafka import OFFSET_END, Consumer, TopicPartition

from ops.bench.report import median, percentile
from ops.bench.stock_throughput import PROBE_RESTOCK
from ops.bench.stream_io import buyer_writes, read_topics
from ops.supervisor import wait_for

Key = tuple[int, int]
WINDOW_S = 6.0  # > the double's pair interval, so a window's list never waits for 131056
TICK_S = 5.0  # the attention clock (streams/buyer_attention.py)
TAIL_S = 6.0  # each run's wait for its last alerts, then for its restocks
ENV = {"ATTENTION_GATHER_WINDOW_S": str(WINDOW_S), "ATTENTION_DAILY_CAP": "100000",
       "ATTENTION_QUIET_START": "00:00", "ATTENTION_QUIET_END": "00:00"}
"""The worker's settings for these rows (quiet hours off: a run at night would hold them)."""
OUTBOUND, STATUS, ALERTS = "messages.outbound", "messages.status", "alerts.stock"
MEASURED = ("ERP commit of a probe's drop to 0 -> its critical alert on alerts.stock (every "
            "drop); -> the messages.outbound record and the WhatsApp request at the double of "
            "the buyer's message of its own for it (a gathering window's first critical, the "
            f"buyers having written; window {WINDOW_S:.0f} s, cap unbounded, quiet hours off)")


def buyers_write(bootstrap: str, double: str, phones: list[str]) -> None:
    """Each buyer writes, and the worker has read it (it answered)."""
    for phone in phones:
        buyer_writes(bootstrap, double, phone, f"wamid.bench-stock-{phone}")
    wanted = {f"buyer-reply:wamid.bench-stock-{p}" for p in phones}
    wait_for(lambda: wanted <= set(read_topics(
        bootstrap, [OUTBOUND], lambda m: orjson.loads(m.value())["idempotency_key"],
        idle=0.5)), 120, "the worker's replies to the buyers", interval=1)


@dataclass
class _Watch:
    """Reads alerts.stock, messages.outbound and messages.status from their end, in a thread."""

    bootstrap: str
    alerts: list[tuple[Key, float]] = field(default_factory=list)
    outbound: list[tuple[Key, float]] = field(default_factory=list)
    sent_for: dict[str, Key] = field(default_factory=dict)  # WhatsApp message id -> probe
    done: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> _Watch:
        self.consumer = Consumer({"bootstrap.servers": self.bootstrap, "enable.auto.commit": False,
                                  "group.id": "bench-stock-latency", "fetch.wait.max.ms": 5})
        self.consumer.assign([
            TopicPartition(t, p, OFFSET_END) for t in (ALERTS, OUTBOUND, STATUS)
            for p in self.consumer.list_topics(t, timeout=10).topics[t].partitions])
        self.consumer.consume(100, timeout=1.0)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.done.set()
        self.thread.join()
        self.consumer.close()

    def _run(self) -> None:
        while not self.done.is_set():
            for msg in self.consumer.consume(1000, timeout=0.05):
                if not msg.error() and msg.value() is not None:
                    self._record(msg.topic(), orjson.loads(msg.value()), time.time() * 1000)

    def _record(self, topic: str, record: dict[str, Any], now_ms: float) -> None:
        if topic == ALERTS:
            if record["level"] == "critico" and not record["resolved"]:
                self.alerts.append(((record["product_id"], record["warehouse_id"]), now_ms))
        elif topic == STATUS:  # the sink's result: idempotency key -> message id
            key, wamid = record["idempotency_key"], record["provider_message_id"]
            where = (_critical_key(key.removeprefix("alert:").rsplit(":", 1)[0])
                     if key.startswith("alert:") else None)
            if where and wamid:
                self.sent_for[wamid] = where
        elif where := _critical_key(record["context"].get("event_id", "")):
            self.outbound.append((where, now_ms))  # a message of its own (`alert:` key)


def _critical_key(event_id: str) -> Key | None:
    """(product, warehouse) of a stock alert event that opens a critical alert, else None."""
    if not event_id.endswith("-critico"):  # an alert opening, not its resolution
        return None
    _, product, warehouse, *_ = event_id.split("-")
    return int(product), int(warehouse)


async def _commit_load(dsn: str, probes: list[Key], background: list[Key],
                       on_hand: dict[Key, int], seconds: float, seed: int, rate: int
                       ) -> dict[Key, list[float]]:
    """`rate` stock changes/s for `seconds`, one in 50 a probe going to 0 or back; the wall ms
    of each probe's drops. Every probe is restocked at the end, for the next run."""
    rng = random.Random(seed)
    drops: dict[Key, list[float]] = {}
    down: set[Key] = set()
    sql = "UPDATE stock SET on_hand = $3, updated_at = now() WHERE product_id = $1 " \
          "AND warehouse_id = $2"
    conn = await asyncpg.connect(dsn)
    try:
        started, n = time.perf_counter(), 0
        while time.perf_counter() - started < seconds:
            if n % 50 == 0:  # a probe: down to 0 (critical), or a restock
                key = probes[(n // 50) % len(probes)]
                value = PROBE_RESTOCK if key in down else 0
                down ^= {key}
            else:
                key = rng.choice(background)
                on_hand[key] = value = max(0, on_hand[key] + rng.choice((-1, 1)))
            await conn.execute(sql, *key, value)
            if key in down:
                drops.setdefault(key, []).append(time.time() * 1000)
            n += 1
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        await asyncio.sleep(TAIL_S / 2)
        for key in down:
            await conn.execute(sql, *key, PROBE_RESTOCK)
        await asyncio.sleep(TAIL_S / 2)
    finally:
        await conn.close()
    return drops


def latency_run(dsn: str, bootstrap: str, double: str, probes: list[Key],
                background: list[Key], on_hand: dict[Key, int], seconds: float, seed: int,
                rate: int) -> dict[str, list[float]]:
    """One run, once every buyer's gathering window is free again (the previous run's list
    went out at most `WINDOW_S` + a tick after its end): ms from each probe drop's commit to
    its alert ("alert"), its own message's record ("outbound") and its request at the double
    ("double"; the double logs each accepted request with its arrival time)."""
    time.sleep(max(0.0, 2 * WINDOW_S + TICK_S - TAIL_S))
    with _Watch(bootstrap) as watch:
        drops = asyncio.run(_commit_load(dsn, probes, background, on_hand, seconds, seed, rate))
    logged = httpx.get(f"{double}/_double/messages", timeout=10).json()["messages"]
    at_double = [(watch.sent_for[m["wamid"]], datetime.fromisoformat(m["at"]).timestamp() * 1000)
                 for m in logged if m.get("wamid") in watch.sent_for]

    def since_drop(arrivals: list[tuple[Key, float]]) -> list[float]:
        samples = []
        for key, at in arrivals:
            before = [t for t in drops.get(key, ()) if t <= at]
            if before:
                samples.append(at - max(before))
        return samples

    return {"alert": since_drop(watch.alerts), "outbound": since_drop(watch.outbound),
            "double": since_drop(at_double)}


def latency_rows(latency: dict[int, list[dict[str, list[float]]]], bootstrap_s: float
                 ) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for rate, runs in latency.items():
        target = " (target <= 300 / <= 1,000)" if rate == 500 else ""
        for where, label in (("alert", "critical alert on alerts.stock"),
                             ("outbound", "the buyer's own message, messages.outbound record"),
                             ("double", "the buyer's own message, WhatsApp request at the "
                                        "double")):
            samples = [run[where] for run in runs]
            p50s = [percentile(s, 50) if s else float("nan") for s in samples]
            p99s = [percentile(s, 99) if s else float("nan") for s in samples]
            if where == "alert":  # many samples a run: the median of the runs' percentiles
                p50, p99, how = median(p50s), median(p99s), "median of runs"
            else:  # a few a run (one per buyer and window): the runs' samples together
                pooled = [x for s in samples for x in s]
                p50, p99, how = percentile(pooled, 50), percentile(pooled, 99), "runs pooled"
            what = "probe drops" if where == "alert" else "windows' first criticals"
            rows += [
                {"measure": f"stream: ERP stock change -> {label}, p50 ms at {rate}/s",
                 "policy": p50,
                 "note": f"{how}; runs {[round(x, 1) for x in p50s]}, "
                         f"{[len(s) for s in samples]} {what} timed"
                         f"{target if where == 'double' else ''}; stack bootstrap "
                         f"{bootstrap_s:.0f} s"},
                {"measure": f"stream: ERP stock change -> {label}, p99 ms at {rate}/s",
                 "policy": p99, "note": f"{how}; runs {[round(x, 1) for x in p99s]}"},
            ]
    return rows
