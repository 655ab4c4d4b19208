"""`topllantas bench stock`, part 3: the stream glue in real workers, on its own embedded stack.

Tansu + PostgreSQL + CDC + a `--flows stock` worker + a `--flows sinks` worker + the WhatsApp
double: ERP stock change -> WhatsApp request at the double at 100 and 500 changes/s, then stock
events/s and CPU per event in the stock worker against the Faust floor (ops/bench/
stock_throughput.py), and in two stock workers sharing the partitions.
"""

from __future__ import annotations

import asyncio
import os
import random
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, TopicPartition

from ops.bench.cpu import broker_pid
from ops.bench.report import median, percentile
from ops.bench.stock_throughput import (
    FLOOR_SOURCE,
    PROBE_RESTOCK,
    STOCK_TOPIC,
    Record,
    critical_finish,
    floor_finish,
    synthetic_changes,
    timed_run,
    wait_floor_ready,
)
from ops.erp.generate import generate_catalogue
from ops.erp.seed import seed_erp
from ops.stack.ephemeral import embedded_stack
from ops.stack.processes import free_port
from ops.supervisor import Supervisor, wait_for
from ops.topics_admin import apply_catalogue


def pipeline_rows(runs: int, quick: bool) -> list[dict[str, Any]]:
    """The stream glue in real workers, on its own embedded stack (Tansu + PostgreSQL + CDC + a
    `--flows stock` worker + a `--flows sinks` worker + the WhatsApp double):

    - end-to-end latency, ERP commit of a stock change -> the WhatsApp request for its critical
      alert arriving at the double, while the ERP commits 100 and then 500 stock changes/s (one
      in 50 drives a probe product × warehouse to 0; the others are ±1 adjustments); the
      `messages.outbound` record's arrival is timed too, to show the sink's share;
    - stock events/s through inventory + policy + alert in the stock worker: synthetic stock
      change events produced onto `erp.public.stock` as fast as the client can, timed until a
      final critical change in every partition has reached `alerts.stock`; the worker's and the
      broker's CPU µs per event, and the same for the Faust floor (ops/bench/faust_floor.py) on
      the same records, once the stock worker is stopped;
    - the same load through two stock workers in one consumer group (scale-out: Kafka splits
      the partitions between them), as events/s against one worker's.
    Latency runs first: the synthetic events carry LSNs above the ERP's, so later ERP changes
    of those keys would be (correctly) ignored as older.
    """
    events = 5_000 if quick else 30_000
    seconds = 10.0 if quick else 20.0
    with tempfile.TemporaryDirectory() as logs, embedded_stack() as stack:
        cat = generate_catalogue(seed=3, n_products=200 if quick else 600, n_customers=60,
                                 days=60, end=date.today())
        asyncio.run(seed_erp(stack.erp_dsn, catalogue=cat))
        settings = stack.settings()
        apply_catalogue(settings)
        whatsapp = str(free_port())
        env = {"TOPLLANTAS_STATE_DIR": str(stack.state_dir),
               "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap_servers, "BROKER_PROFILE": "embedded",
               "ERP_DATABASE_URL": stack.erp_dsn, "ERP_SINK_DATABASE_URL": stack.sink_dsn,
               "FAUST_WEB_PORT": str(free_port()), "CDC_POLL_INTERVAL_MS": "20",
               "WHATSAPP_BASE_URL": f"http://127.0.0.1:{whatsapp}"}
        with Supervisor(env, Path(logs)) as sup:
            sup.start("whatsapp", "-m", "ops.doubles.whatsapp_double", "--port", whatsapp)
            sup.start("cdc", "cdc", "run")
            worker = sup.start("worker", "worker", "--flows", "stock")
            sup.start("sinks", "worker", "--flows", "sinks",
                      env={"FAUST_WEB_PORT": str(free_port())})
            began = time.perf_counter()
            _wait_bootstrap(stack.bootstrap_servers)
            bootstrap_s = time.perf_counter() - began
            probes, background, on_hand = _stream_keys(cat, stack.bootstrap_servers)
            double = f"http://127.0.0.1:{whatsapp}"
            latency = {rate: [asyncio.run(_latency_run(
                stack.erp_dsn, stack.bootstrap_servers, double, probes,
                background, on_hand, seconds, seed=run, rate=rate)) for run in range(runs)]
                for rate in (100, 500)}
            time.sleep(10)  # let the worker drain what the 500/s runs queued
            popularity = {(p + 1, w + 1): float(cat.popularity[p, w])
                          for p in range(cat.popularity.shape[0])
                          for w in range(cat.popularity.shape[1])}
            bootstrap = stack.bootstrap_servers
            partitions = _partitions(bootstrap, STOCK_TOPIC)
            pids = {"worker": worker.pid, "broker": broker_pid(stack)}

            def stock_run(run: int, pids: dict[str, int]) -> dict[str, float]:
                load, lsn = synthetic_changes(background, on_hand, popularity, events, run)
                return timed_run(bootstrap, STOCK_TOPIC, load,
                                 critical_finish(probes, partitions, lsn), pids,
                                 "bench-stock-tput")

            rates = [stock_run(run, pids) for run in range(runs)]
            pair = _pair_runs(sup, pids, runs, stock_run)
            sup.stop("worker")
            floors = {sends: _floor_runs(sup, bootstrap, pids["broker"], sends, runs,
                                         lambda run: synthetic_changes(
                                             background, on_hand, popularity, events, run)[0])
                      for sends in (0, 2)}
    rows = _throughput_rows(rates, floors, f"{events:,} synthetic stock events on "
                            f"{len(on_hand):,} product×warehouse keys")
    rows += _pair_rows(pair, rates, partitions)
    for rate, runs_of_rate in latency.items():
        target = " (target <= 300 / <= 1,000)" if rate == 500 else ""
        for where, label in (("double", "WhatsApp request at the double"),
                             ("outbound", "messages.outbound record")):
            samples = [run[where] for run in runs_of_rate]
            p50s = [percentile(s, 50) if s else float("nan") for s in samples]
            p99s = [percentile(s, 99) if s else float("nan") for s in samples]
            rows += [
                {"measure": f"stream: ERP stock change -> {label}, p50 ms at {rate}/s",
                 "policy": median(p50s),
                 "note": f"runs {[round(x, 1) for x in p50s]}, {[len(s) for s in samples]} "
                         f"critical probes timed{target if where == 'double' else ''}; "
                         f"stack bootstrap {bootstrap_s:.0f} s"},
                {"measure": f"stream: ERP stock change -> {label}, p99 ms at {rate}/s",
                 "policy": median(p99s), "note": f"runs {[round(x, 1) for x in p99s]}"},
            ]
    return rows


OUTBOUND, STATUS = "messages.outbound", "messages.status"


def _records(bootstrap: str, topic: str, idle: float = 1.0) -> list[bytes]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-stock-reader",
                         "enable.auto.commit": False, "fetch.wait.max.ms": 100})
    try:
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
        out: list[bytes] = []
        last = time.monotonic()
        while time.monotonic() - last < idle:
            batch = [m.value() for m in consumer.consume(10_000, timeout=0.2)
                     if not m.error() and m.value() is not None]
            if batch:
                out.extend(batch)
                last = time.monotonic()
        return out
    finally:
        consumer.close()


def _wait_bootstrap(bootstrap: str) -> None:
    """Until the worker settled its snapshot inputs (settle ticks) and the alerts stopped."""
    wait_for(lambda: any(orjson.loads(v)["kind"] == "settle"
                         for v in _records(bootstrap, "alerts.control", idle=0.5)),
             600, "the settle ticks after the snapshot", interval=2)
    counts = [-1]
    wait_for(lambda: counts.append(len(_records(bootstrap, "alerts.stock"))) or
             counts[-1] == counts[-2], 300, "the bootstrap alerts", interval=2)


def _stream_keys(cat: Any, bootstrap: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]],
                                                   dict[tuple[int, int], int]]:
    """Probe keys (sold in the last 30 days and not critical now) and the other keys."""
    latest: dict[tuple[int, int], str] = {}
    for value in _records(bootstrap, "alerts.stock"):
        alert = orjson.loads(value)
        latest[(alert["product_id"], alert["warehouse_id"])] = (
            "" if alert["resolved"] else alert["level"])
    on_hand = {(row[0], row[1]): int(row[2]) for row in cat.rows["stock"]}
    sold = cat.demand[:, :, -30:].sum(axis=2)
    probes: list[tuple[int, int]] = []
    for k in sorted(on_hand):  # one probe per product: the double's log names the product only
        if (sold[k[0] - 1, k[1] - 1] >= 10 and latest.get(k) != "critico" and on_hand[k] > 0
                and all(k[0] != p for p, _ in probes)):
            probes.append(k)
    probes = probes[:48]
    background = [k for k in sorted(on_hand) if k not in set(probes)]
    return probes, background, on_hand


async def _latency_run(dsn: str, bootstrap: str, double: str,
                       probes: list[tuple[int, int]], background: list[tuple[int, int]],
                       on_hand: dict[tuple[int, int], int], seconds: float, seed: int,
                       rate: int = 500) -> dict[str, list[float]]:
    """Commit `rate` stock changes/s; ms from each probe drop's commit to its critical alert's
    `messages.outbound` record ("outbound") and to its request at the WhatsApp double
    ("double"; the double logs each accepted request with its arrival time)."""
    async with httpx.AsyncClient() as client:
        await client.post(f"{double}/_double/reset")
    rng = random.Random(seed)
    drops: dict[tuple[int, int], list[float]] = {}  # probe -> wall ms of its drops to 0
    seen: list[tuple[tuple[int, int], float]] = []
    done = threading.Event()
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-stock-latency",
                         "enable.auto.commit": False, "fetch.wait.max.ms": 5})
    consumer.assign([TopicPartition(topic, p, OFFSET_END) for topic in (OUTBOUND, STATUS)
                     for p in consumer.list_topics(topic, timeout=10).topics[topic].partitions])
    consumer.consume(100, timeout=1.0)
    sent_for: dict[str, tuple[int, int]] = {}  # WhatsApp message id -> probe it alerts on

    def watch() -> None:
        while not done.is_set():
            for msg in consumer.consume(1000, timeout=0.05):
                if msg.error() or msg.value() is None:
                    continue
                record = orjson.loads(msg.value())
                if msg.topic() == STATUS:  # the sink's result: idempotency key -> message id
                    key, wamid = record["idempotency_key"], record["provider_message_id"]
                    where = (_critical_key(key.removeprefix("alert:").rsplit(":", 1)[0])
                             if key.startswith("alert:") else None)
                    if where and wamid:
                        sent_for[wamid] = where
                    continue
                where = _critical_key(record["context"].get("event_id", ""))
                if where:
                    seen.append((where, time.time() * 1000))

    reader = threading.Thread(target=watch, daemon=True)
    reader.start()
    conn = await asyncpg.connect(dsn)
    down: set[tuple[int, int]] = set()
    try:
        started = time.perf_counter()
        n = 0
        while time.perf_counter() - started < seconds:
            if n % 50 == 0:  # a probe: down to 0 (critical), or a restock
                key = probes[(n // 50) % len(probes)]
                value = PROBE_RESTOCK if key in down else 0
                down ^= {key}
            else:
                key = rng.choice(background)
                on_hand[key] = max(0, on_hand[key] + rng.choice((-1, 1)))
                value = on_hand[key]
            await conn.execute("UPDATE stock SET on_hand = $3, updated_at = now() "
                               "WHERE product_id = $1 AND warehouse_id = $2", *key, value)
            if key in down:
                drops.setdefault(key, []).append(time.time() * 1000)
            n += 1
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        await asyncio.sleep(3)
        for key in down:  # every probe restocked, for the next run
            await conn.execute("UPDATE stock SET on_hand = $3, updated_at = now() "
                               "WHERE product_id = $1 AND warehouse_id = $2", *key,
                               PROBE_RESTOCK)
        await asyncio.sleep(3)
    finally:
        await conn.close()
        done.set()
        reader.join()
        consumer.close()
    async with httpx.AsyncClient() as client:
        logged = (await client.get(f"{double}/_double/messages")).json()["messages"]
    # Matched through the sink's results (message id -> alert event), not by the SKU in the
    # template: the same product's critical alert in another warehouse is not the probe's.
    at_double = [(sent_for[m["wamid"]], datetime.fromisoformat(m["at"]).timestamp() * 1000)
                 for m in logged if m.get("wamid") in sent_for]

    def since_drop(arrivals: list[tuple[tuple[int, int], float]]) -> list[float]:
        samples = []
        for key, at in arrivals:
            before = [t for t in drops.get(key, ()) if t <= at]
            if before:
                samples.append(at - max(before))
        return samples

    return {"outbound": since_drop(seen), "double": since_drop(at_double)}


def _critical_key(event_id: str) -> tuple[int, int] | None:
    """(product, warehouse) of a stock alert event that opens a critical alert, else None."""
    if not event_id.endswith("-critico"):  # an alert opening, not its resolution
        return None
    _, product, warehouse, *_ = event_id.split("-")
    return int(product), int(warehouse)


def _pair_runs(sup: Supervisor, pids: dict[str, int], runs: int,
               stock_run: Callable[[int, dict[str, int]], dict[str, float]]
               ) -> list[dict[str, float]]:
    """The same load through two `--flows stock` workers in one consumer group: a second one
    joins the first, and the group's first run (which waits for the rebalance) is not kept."""
    second = sup.start("worker-b", "worker", "--flows", "stock",
                       env={"FAUST_WEB_PORT": str(free_port())})
    both = {**pids, "worker_b": second.pid}
    results = [stock_run(run, both) for run in range(runs, 2 * runs + 1)]
    sup.stop("worker-b")
    return results[1:]


def _pair_rows(pair: list[dict[str, float]], single: list[dict[str, float]],
               partitions: int) -> list[dict[str, Any]]:
    rate, alone = (median([r["events_per_s"] for r in pair]),
                   median([r["events_per_s"] for r in single]))
    cpu = [r["worker_cpu_us"] + r["worker_b_cpu_us"] for r in pair]
    return [
        {"measure": "stream: stock events/s, two workers in one consumer group",
         "policy": rate,
         "note": f"= {rate / alone:.2f} × one worker on this {os.cpu_count()}-core machine, "
                 f"which also runs the broker; {partitions} partitions; runs "
                 f"{[round(r['events_per_s']) for r in pair]}; wall clock"},
        {"measure": "stream: two workers' CPU µs per stock event, together",
         "policy": median(cpu),
         "note": f"runs {[round(c) for c in cpu]}; the broker spent "
                 f"{median([r['broker_cpu_us'] for r in pair]):.0f} µs per event"},
    ]


def _floor_runs(sup: Supervisor, bootstrap: str, broker: int, sends: int, runs: int,
                load: Callable[[int], list[Record]]) -> list[dict[str, float]]:
    """The Faust floor (ops/bench/faust_floor.py) sending each record `sends` more times, on
    the loads of the stock worker's runs; a warm-up run on another load goes first."""
    name = f"floor-{sends}"
    floor = sup.start(name, "-m", "ops.bench.faust_floor", "worker", "-l", "warn",
                      env={"FAUST_WEB_PORT": str(free_port()), "BENCH_FLOOR_SENDS": str(sends)})
    wait_floor_ready(bootstrap, f"{name}-ready")
    pids = {"worker": floor.pid, "broker": broker}
    results = [timed_run(bootstrap, FLOOR_SOURCE, load(run), floor_finish(f"{name}-{run}"),
                         pids, "bench-floor-tput") for run in (runs, *range(runs))]
    sup.stop(name)
    return results[1:]


def _throughput_rows(rates: list[dict[str, float]],
                     floors: dict[int, list[dict[str, float]]], load: str
                     ) -> list[dict[str, Any]]:
    worker_us = median([r["worker_cpu_us"] for r in rates])

    def runs(samples: list[dict[str, float]], what: str) -> str:
        return f"runs {[round(r[what]) for r in samples]}"

    rows = [
        {"measure": "stream: stock events/s, inventory + policy + alert, one worker",
         "policy": median([r["events_per_s"] for r in rates]),
         "note": f"target >= 3,000; {load}, {runs(rates, 'events_per_s')}; "
                 f"{median([r['outputs_per_1000'] for r in rates]):.0f} alert events per "
                 "1,000 stock events; a `--flows stock` worker; embedded broker; wall clock"},
        {"measure": "stream: stock worker CPU µs per stock event",
         "policy": worker_us,
         "note": f"= {1e6 / worker_us:,.0f} events/s per worker core (3,000/s needs <= 333); "
                 f"{runs(rates, 'worker_cpu_us')}; the broker spent "
                 f"{median([r['broker_cpu_us'] for r in rates]):.0f} µs per event"},
    ]
    for sends, samples in floors.items():
        floor_us = median([r["worker_cpu_us"] for r in samples])
        what = f"{1 + sends} produce{'s' if sends else ''} per record"
        rows += [
            {"measure": f"stream: Faust floor events/s, decode + table row, {what}",
             "policy": median([r["events_per_s"] for r in samples]),
             "note": f"same records and broker, ops/bench/faust_floor.py; "
                     f"{runs(samples, 'events_per_s')}; wall clock"},
            {"measure": f"stream: Faust floor CPU µs per event, {what}",
             "policy": floor_us,
             "note": f"= {1e6 / floor_us:,.0f} events/s per core; stock worker / this = "
                     f"{worker_us / floor_us:.2f}; {runs(samples, 'worker_cpu_us')}; the broker "
                     f"spent {median([r['broker_cpu_us'] for r in samples]):.0f} µs per event"},
        ]
    return rows


def _partitions(bootstrap: str, topic: str) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-stock-reader"})
    try:
        return len(consumer.list_topics(topic, timeout=10).topics[topic].partitions)
    finally:
        consumer.close()
