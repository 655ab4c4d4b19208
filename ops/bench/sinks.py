"""`topllantas bench sinks`: ERP sink commands/s; webhook ingress req/s and p99 latency.

Starts its own embedded stack (`ops.stack.ephemeral`: Tansu + PostgreSQL on free ports):
- ERP sink: a mixed stream of sales orders (reserving stock) and purchase order drafts applied in
  batches through `ErpSink`, then the same stream redelivered (all duplicates);
- webhook ingress: the aiohttp app in this process with a real producer and signature checks,
  loaded over loopback by a generator in a second process: closed loop (throughput) and open
  loop at a fixed 1,000 req/s (latency without coordinated omission).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import random
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from multiprocessing.connection import Connection
from typing import Any

import aiohttp
import asyncpg
from aiohttp import web

from ops.bench.report import median, percentile, report
from ops.erp.setup import apply_schema
from ops.stack.ephemeral import embedded_stack
from ops.stack.processes import free_port
from ops.topics_admin import apply_catalogue
from schemas.commands import (
    CreatePurchaseOrderDraft,
    CreateSalesOrder,
    ErpCommand,
    PurchaseLine,
    SalesLine,
)
from schemas.settings import Settings
from sinks.erp import ErpSink
from sources.whatsapp_webhook import (
    HEADER,
    WEBHOOK_PATH,
    build_webhook_app,
    sign,
    webhook_producer,
)

PRODUCTS, WAREHOUSES, CUSTOMERS = 1000, 4, 500
BATCH = 500
TARGET_COMMANDS_S, TARGET_REQ_S, TARGET_P99_MS = 5000, 1000, 50.0

SEED = f"""
INSERT INTO brands VALUES (1, 'Bench', 'media') ON CONFLICT DO NOTHING;
INSERT INTO categories VALUES (1, 'Auto') ON CONFLICT DO NOTHING;
INSERT INTO suppliers (id, name, lead_time_days) VALUES (1, 'Proveedor', 6) ON CONFLICT DO NOTHING;
INSERT INTO warehouses SELECT w, 'W' || w, 'Sucursal ' || w, 'Puebla', 'Puebla', 19, -98, true
    FROM generate_series(1, {WAREHOUSES}) w ON CONFLICT DO NOTHING;
INSERT INTO products (id, sku, brand_id, category_id, supplier_id, model, width, aspect_ratio,
    rim, tire_size, load_index, speed_index, cost, list_price, weight_kg)
    SELECT g, 'B-' || g, 1, 1, 1, 'M', 205, 55, 16, '205/55R16', 91, 'V', 1000, 1500, 9
    FROM generate_series(1, {PRODUCTS}) g ON CONFLICT DO NOTHING;
INSERT INTO stock (product_id, warehouse_id, on_hand)
    SELECT p, w, 100000 FROM generate_series(1, {PRODUCTS}) p, generate_series(1, {WAREHOUSES}) w
    ON CONFLICT DO NOTHING;
INSERT INTO customers (id, name, tier, address, city, state, lat, lon)
    SELECT g, 'Cliente ' || g, 'taller', 'Calle', 'Puebla', 'Puebla', 19, -98
    FROM generate_series(1, {CUSTOMERS}) g ON CONFLICT DO NOTHING;
"""


# ---------------------------------------------------------------------------- ERP sink
def _commands(count: int, rng: random.Random) -> list[ErpCommand]:
    now = datetime.now(UTC)
    run = uuid.uuid4().hex[:8]
    out: list[ErpCommand] = []
    for i in range(count):
        warehouse = rng.randint(1, WAREHOUSES)
        if rng.random() < 0.7:
            out.append(CreateSalesOrder(
                idempotency_key=f"bench-so-{run}-{i}", issued_at=now,
                customer_id=rng.randint(1, CUSTOMERS), warehouse_id=warehouse,
                lines=[SalesLine(product_id=p, qty=rng.randint(1, 4), unit_price=Decimal(1500))
                       for p in rng.sample(range(1, PRODUCTS + 1), rng.randint(1, 3))]))
        else:
            out.append(CreatePurchaseOrderDraft(
                idempotency_key=f"bench-po-{run}-{i}", issued_at=now, supplier_id=1,
                warehouse_id=warehouse,
                lines=[PurchaseLine(product_id=p, qty=rng.randint(10, 80), unit_cost=Decimal(950))
                       for p in rng.sample(range(1, PRODUCTS + 1), rng.randint(1, 5))]))
    return out


async def _erp_run(settings: Settings, count: int, seed: int) -> dict[str, float]:
    commands = _commands(count, random.Random(seed))
    async with ErpSink.from_settings(settings) as sink:
        await sink.apply_batch(_commands(BATCH, random.Random(seed + 1000)))  # warm-up
        started = time.perf_counter()
        applied = 0
        for i in range(0, count, BATCH):
            applied += sum(r.status == "applied"
                           for r in await sink.apply_batch(commands[i:i + BATCH]))
        apply_s = time.perf_counter() - started
        started = time.perf_counter()
        duplicates = 0
        for i in range(0, count, BATCH):
            duplicates += sum(r.status == "duplicate"
                              for r in await sink.apply_batch(commands[i:i + BATCH]))
        dup_s = time.perf_counter() - started
    if applied != count or duplicates != count:
        raise RuntimeError(f"expected {count} applied and duplicates, got {applied}/{duplicates}")
    return {"apply": count / apply_s, "redelivered": count / dup_s}


async def _seed(settings: Settings) -> None:
    conn = await asyncpg.connect(settings.erp_dsn())
    try:
        await conn.execute(SEED)
    finally:
        await conn.close()


# ---------------------------------------------------------------------------- webhook
def _bodies(secret: bytes, count: int) -> list[tuple[bytes, str]]:
    out = []
    for i in range(count):
        phone = f"52155{i % 5000:08d}"
        body = json.dumps({"object": "whatsapp_business_account", "entry": [{
            "id": "1", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "contacts": [{"profile": {"name": "Cliente"}, "wa_id": phone}],
                "messages": [{"from": phone, "id": f"wamid.{uuid.uuid4().hex}",
                              "timestamp": str(int(time.time())), "type": "text",
                              "text": {"body": "¿Tienen 205/55R16 en existencia?"}}]}}]}]})
        out.append((body.encode(), sign(secret, body.encode())))
    return out


def _generate_load(url: str, secret: bytes, count: int, concurrency: int, rate: float | None,
                   pipe: Connection) -> None:
    """The load generator (second process): closed loop, or open loop at `rate` req/s, over
    `concurrency` keep-alive connections."""
    pipe.send(asyncio.run(_load(url, secret, count, concurrency, rate)))
    pipe.close()


async def _load(url: str, secret: bytes, count: int, concurrency: int,
                rate: float | None) -> dict[str, Any]:
    bodies = _bodies(secret, count + 200)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(body: bytes, signature: str, due: float) -> None:
            headers = {"Content-Type": "application/json", HEADER: signature}
            async with session.post(url, data=body, headers=headers) as resp:
                await resp.read()
                statuses[resp.status] = statuses.get(resp.status, 0) + 1
            latencies.append(time.perf_counter() - due)

        for body, signature in bodies[count:]:  # warm-up: connections, producer metadata
            await one(body, signature, time.perf_counter())
        latencies.clear()
        statuses.clear()
        started = time.perf_counter()
        todo = list(enumerate(bodies[:count]))

        async def worker(slot: int) -> None:
            # open loop: request i is due at started + i / rate, whether or not earlier ones
            # were answered (latency counts from when it was due); closed loop: back to back
            for i, (body, signature) in todo[slot::concurrency]:
                due = time.perf_counter() if rate is None else started + i / rate
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                await one(body, signature, due)

        await asyncio.gather(*(worker(slot) for slot in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {"elapsed": elapsed, "latencies": latencies, "statuses": statuses}


async def _webhook_run(settings: Settings, count: int, concurrency: int,
                       rate: float | None) -> dict[str, float]:
    producer = webhook_producer(settings)
    await producer.start()
    runner = web.AppRunner(build_webhook_app(settings, producer), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe(duplex=False)
        generator = ctx.Process(target=_generate_load, args=(
            f"http://127.0.0.1:{port}{WEBHOOK_PATH}",
            settings.whatsapp_app_secret.get_secret_value().encode(), count, concurrency, rate,
            child))
        generator.start()
        while not parent.poll():
            await asyncio.sleep(0.05)
        result = parent.recv()
        generator.join(10)
    finally:
        await runner.cleanup()
        await producer.stop()
    if result["statuses"] != {200: count}:
        raise RuntimeError(f"webhook answered {result['statuses']}")
    latencies_ms = [x * 1000 for x in result["latencies"]]
    return {"req_s": count / result["elapsed"], "p50_ms": percentile(latencies_ms, 50),
            "p99_ms": percentile(latencies_ms, 99)}


# ---------------------------------------------------------------------------- main
def main(runs: int, quick: bool) -> None:
    commands = 5_000 if quick else 40_000
    requests = 2_000 if quick else 10_000
    open_loop = 2_000 if quick else 10_000
    concurrency = 32
    erp: list[dict[str, float]] = []
    closed: list[dict[str, float]] = []
    opened: list[dict[str, float]] = []
    load_before = os.getloadavg()[0]
    with embedded_stack() as stack:
        settings = stack.settings()
        asyncio.run(apply_schema(settings.erp_dsn()))
        asyncio.run(_seed(settings))
        apply_catalogue(settings)
        for run in range(runs):
            erp.append(asyncio.run(_erp_run(settings, commands, seed=run)))
            closed.append(asyncio.run(_webhook_run(settings, requests, concurrency, None)))
            opened.append(asyncio.run(_webhook_run(settings, open_loop, concurrency,
                                                   float(TARGET_REQ_S))))

    load_after = os.getloadavg()[0]

    def med(rows: list[dict[str, float]], key: str) -> float:
        return median([r[key] for r in rows])

    rows = [
        {"measure": "ERP sink commands/s applied (batches of 500, idempotent)",
         "value": med(erp, "apply"), "target": f">= {TARGET_COMMANDS_S}",
         "met": med(erp, "apply") >= TARGET_COMMANDS_S},
        {"measure": "ERP sink commands/s redelivered (all duplicates)",
         "value": med(erp, "redelivered"), "target": "", "met": ""},
        {"measure": f"webhook req/s, closed loop, {concurrency} connections",
         "value": med(closed, "req_s"), "target": f">= {TARGET_REQ_S}",
         "met": med(closed, "req_s") >= TARGET_REQ_S},
        {"measure": f"webhook p50 ms, closed loop, {concurrency} connections",
         "value": med(closed, "p50_ms"), "target": "", "met": ""},
        {"measure": f"webhook p99 ms, closed loop, {concurrency} connections",
         "value": med(closed, "p99_ms"), "target": "", "met": ""},
        {"measure": f"webhook p50 ms, open loop at {TARGET_REQ_S} req/s",
         "value": med(opened, "p50_ms"), "target": "", "met": ""},
        {"measure": f"webhook p99 ms, open loop at {TARGET_REQ_S} req/s",
         "value": med(opened, "p99_ms"), "target": f"<= {TARGET_P99_MS:.0f}",
         "met": med(opened, "p99_ms") <= TARGET_P99_MS},
        {"measure": f"1-min load average on {os.cpu_count()} CPUs, start -> end (all processes)",
         "value": f"{load_before:.1f} -> {load_after:.1f}", "target": "", "met": ""},
    ]
    report("sinks", rows, meta={
        "runs": runs, "quick": quick, "erp_commands_per_run": commands, "batch": BATCH,
        "mix": "70% sales orders (1-3 lines, reserve stock), 30% PO drafts (1-5 lines)",
        "webhook_requests_closed": requests, "webhook_requests_open": open_loop,
        "load_generator": "separate process (multiprocessing spawn), aiohttp client, loopback",
        "erp_runs": erp, "webhook_closed_runs": closed, "webhook_open_runs": opened})
