"""`topllantas bench cdc`: CDC throughput and latency, and the inventory processor's rate.

Runs on its own embedded stack. Measures
- throughput: rows/s from ERP commit to broker acknowledgement (slot confirmed) over >= 200k
  changes committed as fast as PostgreSQL takes them;
- latency: commit -> record readable on the topic, at ~1,000 rows/s;
- the inventory processor's events/s in one Faust worker;
- peak RSS of every process.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import threading
import time
from pathlib import Path

import asyncpg
import orjson
import psutil
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition as TP
from confluent_kafka import OFFSET_END, Consumer, Producer, TopicPartition

from ops.bench.report import median, percentile, report
from ops.erp.generate import generate_catalogue
from ops.erp.seed import seed_erp
from ops.stack.ephemeral import embedded_stack
from ops.stack.processes import free_port
from ops.supervisor import Supervisor, wait_for
from ops.topics_admin import apply_catalogue
from schemas.settings import Settings


class PeakRss:
    """Samples the RSS of named pids in a thread; keeps the peak of each."""

    def __init__(self) -> None:
        self.pids: dict[str, int] = {}
        self.peak: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def watch(self, name: str, pid: int) -> None:
        self.pids[name] = pid

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, pid in list(self.pids.items()):
                try:
                    proc = psutil.Process(pid)
                    rss = proc.memory_info().rss + sum(
                        c.memory_info().rss for c in proc.children(recursive=True))
                except psutil.Error:
                    continue
                self.peak[name] = max(self.peak.get(name, 0.0), rss / 2**20)
            time.sleep(0.2)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


async def _confirmed(conn: asyncpg.Connection, slot: str) -> int:
    return await conn.fetchval(
        "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = $1", slot) or 0


async def throughput_run(settings: Settings, rows: int, batch: int = 5000) -> dict:
    """Commit `rows` stock moves as fast as possible; time until CDC confirmed them all."""
    conn = await asyncpg.connect(settings.erp_dsn())
    try:
        await conn.execute("SELECT pg_switch_wal()")
        t0 = time.perf_counter()
        for _ in range(rows // batch):
            await conn.execute(
                "INSERT INTO stock_moves (product_id, warehouse_id, qty, kind, ref) "
                "SELECT 1 + g % 100, 1 + g % 3, 1, 'ajuste', 'bench' "
                "FROM generate_series(1, $1) g", batch)
        committed = time.perf_counter() - t0
        target = await conn.fetchval("SELECT pg_current_wal_lsn()")
        while await _confirmed(conn, settings.cdc_slot) < target:
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - t0
    finally:
        await conn.close()
    return {"rows": rows, "commit_s": committed, "elapsed_s": elapsed,
            "rows_per_s": rows / elapsed}


def latency_run(settings: Settings, seconds: float, rate: int = 1000) -> list[float]:
    """Commit ~`rate` rows/s in 10-row transactions; latency = seen on topic - commit time.

    Read with aiokafka, the client of the Faust workers: librdkafka's consumer sees each record
    on the embedded broker ~40 ms late whatever its fetch settings (measured: commit -> record
    consumed 40 ms p50 with confluent-kafka, 4 ms with aiokafka, broker ack 1.5 ms)."""
    return asyncio.run(_latency(settings, seconds, rate))


async def _latency(settings: Settings, seconds: float, rate: int) -> list[float]:
    topic = "erp.public.stock_moves"
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers(),
                                enable_auto_commit=False, fetch_max_wait_ms=5)
    await consumer.start()
    samples: list[float] = []
    try:
        partitions = [TP(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)

        async def read() -> None:
            async for msg in consumer:
                if msg.value is None:
                    continue
                now_ms = time.time() * 1000
                event = orjson.loads(msg.value)
                if event["op"] == "c" and event["after"]["ref"] == "latency":
                    samples.append(now_ms - event["source"]["ts_ms"])

        reader = asyncio.create_task(read())
        conn = await asyncpg.connect(settings.erp_dsn())
        try:
            started = time.perf_counter()
            n = 0
            while time.perf_counter() - started < seconds:
                await conn.execute(
                    "INSERT INTO stock_moves (product_id, warehouse_id, qty, kind, ref) "
                    "SELECT 1 + g, 1, 1, 'ajuste', 'latency' FROM generate_series(1, 10) g")
                n += 10
                delay = started + n / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
        finally:
            await conn.close()
        await asyncio.sleep(1.0)
        reader.cancel()
    finally:
        await consumer.stop()
    return samples


def inventory_run(settings: Settings, port: str, events: int) -> dict:
    """Produce `events` stock changes; time until the worker published all positions."""
    producer = Producer({"bootstrap.servers": settings.bootstrap_servers(),
                         "partitioner": "murmur2_random", "linger.ms": 5})
    consumer = Consumer({"bootstrap.servers": settings.bootstrap_servers(),
                         "group.id": "bench-inventory", "enable.auto.commit": False})
    out = "inventory.position"
    parts = consumer.list_topics(out, timeout=10).topics[out].partitions
    consumer.assign([TopicPartition(out, p, OFFSET_END) for p in parts])
    consumer.consume(1000, timeout=1.0)
    base_lsn = 10**12 + int(time.time() * 1000) * 1000
    t0 = time.perf_counter()
    for i in range(events):
        product, warehouse = 1 + i % 300, 1 + i % 3
        row = {"product_id": product, "warehouse_id": warehouse, "on_hand": 1000 + i,
               "reserved": 0, "in_transit": 0, "updated_at": "2026-11-25T00:00:00Z"}
        value = orjson.dumps({
            "before": None, "after": row, "op": "u", "ts_ms": 0,
            "source": {"ts_ms": 0, "db": "erp", "schema": "public", "table": "stock",
                       "lsn": base_lsn + i}})
        producer.produce("erp.public.stock", key=orjson.dumps(
            {"product_id": product, "warehouse_id": warehouse}), value=value)
        if i % 10_000 == 0:
            producer.poll(0)
    producer.flush(60)
    seen = 0
    deadline = time.perf_counter() + 300
    while seen < events and time.perf_counter() < deadline:
        seen += sum(1 for m in consumer.consume(10_000, timeout=0.2) if not m.error())
    elapsed = time.perf_counter() - t0
    consumer.close()
    return {"events": events, "seen": seen, "elapsed_s": elapsed, "events_per_s": seen / elapsed}


def main(runs: int, quick: bool) -> None:
    rows = 40_000 if quick else 200_000
    lat_seconds = 5 if quick else 15
    inv_events = 5_000 if quick else 30_000
    with tempfile.TemporaryDirectory() as logs, embedded_stack() as stack, PeakRss() as rss:
        settings = stack.settings()
        asyncio.run(seed_erp(stack.erp_dsn, catalogue=generate_catalogue(
            seed=3, n_products=300, n_customers=50, days=30)))
        apply_catalogue(settings)
        rss.watch("broker (tansu)", stack.broker_pid or 0)
        rss.watch("postgres", stack.postgres_pid or 0)
        port = str(free_port())
        env = {"TOPLLANTAS_STATE_DIR": str(stack.state_dir),
               "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap_servers, "BROKER_PROFILE": "embedded",
               "ERP_DATABASE_URL": stack.erp_dsn, "FAUST_WEB_PORT": port}
        with Supervisor(env, Path(logs)) as sup:
            rss.watch("cdc", sup.start("cdc", "cdc", "run").pid)
            asyncio.run(_wait_snapshot(settings))
            lat_runs = [latency_run(settings, lat_seconds) for _ in range(runs)]
            tput = [asyncio.run(throughput_run(settings, rows)) for _ in range(runs)]
            rss.watch("worker (faust)", sup.start("worker", "worker", "--flows", "stock").pid)
            wait_for(lambda: _http_ok(port), 120, "the Faust worker")
            time.sleep(3)
            inv = [inventory_run(settings, port, inv_events) for _ in range(runs)]
    p50 = median([percentile(s, 50) for s in lat_runs])
    p99 = median([percentile(s, 99) for s in lat_runs])
    rows_out = [
        {"measure": "CDC throughput, commit -> broker ack (rows/s)",
         "median": median([t["rows_per_s"] for t in tput]), "target": ">= 50,000",
         "runs": [round(t["rows_per_s"]) for t in tput]},
        {"measure": "commit -> topic latency p50 at 1,000 rows/s (ms)", "median": p50,
         "target": "<= 50", "runs": [round(percentile(s, 50), 1) for s in lat_runs]},
        {"measure": "commit -> topic latency p99 at 1,000 rows/s (ms)", "median": p99,
         "target": "<= 250", "runs": [round(percentile(s, 99), 1) for s in lat_runs]},
        {"measure": "inventory processor, one worker (events/s)",
         "median": median([i["events_per_s"] for i in inv]), "target": "report",
         "runs": [round(i["events_per_s"]) for i in inv]},
    ]
    rows_out += [{"measure": f"peak RSS {name} (MiB)", "median": peak, "target": "report",
                  "runs": ""} for name, peak in sorted(rss.peak.items())]
    report("cdc", rows_out, meta={"rows_per_run": rows, "latency_seconds": lat_seconds,
                                  "latency_samples": [len(s) for s in lat_runs],
                                  "inventory_events": inv_events, "cpus": os.cpu_count()})


async def _wait_snapshot(settings: Settings) -> None:
    conn = await asyncpg.connect(settings.erp_dsn())
    try:
        for _ in range(600):
            if await conn.fetchval("SELECT to_regclass('topllantas.cdc_snapshots') IS NOT NULL"):
                if await conn.fetchval("SELECT count(*) FROM topllantas.cdc_snapshots"):
                    return
            await asyncio.sleep(0.1)
        raise TimeoutError("CDC snapshot did not finish")
    finally:
        await conn.close()


def _http_ok(port: str) -> bool:
    import urllib.error
    import urllib.request

    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/inventory/1/1/", timeout=2)
        return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False
