"""The faults, one at a time: each breaks one thing, holds it broken, and heals it.

`hold_s` is how long the thing stays broken; a SIGKILLed process is restarted at once, as its
supervisor (systemd, Kubernetes) would. The embedded broker keeps its data in memory only, so it
is paused (SIGSTOP/SIGCONT), never killed. Each fault gets the load (`load.pipeline` is what it
breaks). `tamper` is not a fault but a breach: it loses and duplicates on purpose, so a run can
prove that its audit sees exactly that.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
import asyncpg

from ops.chaos.audit import feed_key
from ops.chaos.load import Issued, Load
from ops.chaos.pipeline import ROUTES_WORKER, ChaosPipeline

AGENT_SINKS, STOCK, ANALYTICS = "worker-agent-sinks", "worker-stock", "worker-analytics"


@dataclass(frozen=True)
class Fault:
    name: str
    what: str
    hold_s: float
    run: Callable[[Load, float, random.Random], Awaitable[None]]


async def _kill_worker(p: ChaosPipeline, name: str) -> None:
    await asyncio.to_thread(p.supervisor.kill, name)
    p.start_worker(name)


async def kill_mid_batch(load: Load, hold_s: float, rng: random.Random) -> None:
    """SIGKILL the customer-facing worker at a random moment of steady work."""
    p = load.pipeline
    await asyncio.sleep(rng.uniform(0, 3))
    await _kill_worker(p, AGENT_SINKS)


async def kill_mid_recovery(load: Load, hold_s: float, rng: random.Random) -> None:
    """SIGKILL it, and again while it is starting over (joining, recovering its tables)."""
    p = load.pipeline
    await _kill_worker(p, AGENT_SINKS)
    await asyncio.sleep(rng.uniform(2, 6))
    await _kill_worker(p, AGENT_SINKS)


async def kill_stock_worker(load: Load, hold_s: float, rng: random.Random) -> None:
    await asyncio.sleep(rng.uniform(0, 3))
    await _kill_worker(load.pipeline, STOCK)


async def kill_analytics_worker(load: Load, hold_s: float, rng: random.Random) -> None:
    await asyncio.sleep(rng.uniform(0, 3))
    await _kill_worker(load.pipeline, ANALYTICS)


async def kill_routes_worker(load: Load, hold_s: float, rng: random.Random) -> None:
    """SIGKILL the routes worker: under load it is re-planning tomorrow most of the time."""
    await asyncio.sleep(rng.uniform(0, 3))
    await _kill_worker(load.pipeline, ROUTES_WORKER)


async def kill_cdc(load: Load, hold_s: float, rng: random.Random) -> None:
    p = load.pipeline
    await asyncio.to_thread(p.supervisor.kill, "cdc")
    await asyncio.sleep(hold_s)
    p.supervisor.start("cdc", "cdc", "run")


async def restart_postgres(load: Load, hold_s: float, rng: random.Random) -> None:
    await asyncio.to_thread(load.pipeline.restart_postgres)


async def pause_broker(load: Load, hold_s: float, rng: random.Random) -> None:
    p = load.pipeline
    pid = p.stack.broker_pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    try:
        await asyncio.sleep(hold_s)
    finally:
        os.kill(pid, signal.SIGCONT)


async def unplug_sink_database(load: Load, hold_s: float, rng: random.Random) -> None:
    p = load.pipeline
    p.proxy.unplug()
    try:
        await asyncio.sleep(hold_s)
    finally:
        p.proxy.plug()


async def whatsapp_half_failing(load: Load, hold_s: float, rng: random.Random) -> None:
    """Every other send fails with HTTP 500 (through the double's `fail_next`): each tick queues
    failures for half of the requests that arrived since the fault began."""
    p = load.pipeline
    loop = asyncio.get_running_loop()
    end, start_requests, queued = loop.time() + hold_s, p.double.requests, 0
    while loop.time() < end:
        due = (p.double.requests - start_requests + 1) // 2 + 1
        if due > queued:
            p.double.fail_next(due - queued, "500")
            queued = due
        await asyncio.sleep(0.05)


async def llm_timing_out(load: Load, hold_s: float, rng: random.Random) -> None:
    """The OpenAI double stops answering (SIGSTOP): every call times out (LLM_TIMEOUT_S)."""
    p = load.pipeline
    p.supervisor.signal("llm-double", signal.SIGSTOP)
    try:
        await asyncio.sleep(hold_s)
    finally:
        p.supervisor.signal("llm-double", signal.SIGCONT)


async def tamper(load: Load, hold_s: float, rng: random.Random) -> None:
    """Exactly one of each, for the audit to find: a purchase order written again for a command
    it already applied, bypassing the sink and its idempotency (no key); a feed message the
    WhatsApp double gets twice (the sink's request replayed); an issued feed message the broker
    never got (recorded as issued, never produced)."""
    p, phase, since = load.pipeline, load.phase, time.time()
    command = delivery = None
    while command is None or delivery is None:
        await asyncio.sleep(0.5)
        command = command or await _applied_command(load, since)
        delivery = next((m for m in p.double.messages if m["type"] == "template"
                         and (feed_key(m) or "").startswith(f"msg:chaos:{phase}:")), None)
    conn = await asyncpg.connect(p.stack.erp_dsn)
    try:
        await conn.execute(
            "WITH po AS (INSERT INTO purchase_orders (supplier_id, warehouse_id, status, "
            "created_by) SELECT supplier_id, warehouse_id, status, created_by FROM "
            "purchase_orders WHERE idempotency_key = $1 RETURNING id) "
            "INSERT INTO purchase_order_lines (po_id, product_id, qty, unit_cost) "
            "SELECT po.id, l.product_id, l.qty, l.unit_cost FROM po, purchase_order_lines l "
            "JOIN purchase_orders o ON o.id = l.po_id WHERE o.idempotency_key = $1", command)
    finally:
        await conn.close()
    url = f"{p.double.base_url}/v21.0/{p.double.phone_number_id}/messages"
    async with aiohttp.ClientSession() as http, http.post(
            url, json=delivery["body"],
            headers={"Authorization": f"Bearer {p.double.access_token}"}) as response:
        response.raise_for_status()
    load.messages[f"msg:chaos:{phase}:never-produced"] = Issued(phase, time.time())


async def _applied_command(load: Load, since: float) -> str | None:
    keys = [k for k, v in load.commands.items() if v.phase == load.phase and v.at >= since]
    conn = await asyncpg.connect(load.pipeline.stack.erp_dsn)
    try:
        return await conn.fetchval("SELECT idempotency_key FROM purchase_orders "
                                   "WHERE idempotency_key = ANY($1::text[]) LIMIT 1", keys)
    finally:
        await conn.close()


TAMPER = Fault("tamper", "one ERP write and one message duplicated, one event lost, on purpose",
               0, tamper)


def plan(*, quick: bool) -> list[Fault]:
    """Every fault once; `quick` holds the long ones for less time."""
    hold = (lambda full, short: short) if quick else (lambda full, short: full)
    return [
        Fault("worker_kill_mid_batch", "SIGKILL the agent+sinks worker under load", 0,
              kill_mid_batch),
        Fault("worker_kill_mid_recovery", "SIGKILL it twice, the second time while it "
              "recovers", 0, kill_mid_recovery),
        Fault("worker_kill_stock", "SIGKILL the stock worker under load", 0, kill_stock_worker),
        Fault("worker_kill_analytics", "SIGKILL the analytics worker under load", 0,
              kill_analytics_worker),
        Fault("worker_kill_routes", "SIGKILL the routes worker while it re-plans", 0,
              kill_routes_worker),
        Fault("cdc_kill", "SIGKILL CDC, restart it", hold(10, 3), kill_cdc),
        Fault("postgres_restart", "PostgreSQL fast shutdown and start", 0, restart_postgres),
        Fault("broker_pause", "SIGSTOP the broker, SIGCONT after hold_s", 30, pause_broker),
        Fault("sink_db_unreachable", "the ERP sink's database unreachable", hold(60, 30),
              unplug_sink_database),
        Fault("whatsapp_50pct_failing", "WhatsApp answers 500 to every other send",
              hold(60, 30), whatsapp_half_failing),
        Fault("llm_timeout", "the LLM stops answering (timeouts)", hold(60, 20), llm_timing_out),
    ]


def short_plan() -> list[Fault]:
    """For CI: a worker SIGKILLed and the broker paused, briefly."""
    return [Fault("worker_kill_mid_batch", "SIGKILL the agent+sinks worker under load", 0,
                  kill_mid_batch),
            Fault("broker_pause", "SIGSTOP the broker, SIGCONT after hold_s", 10, pause_broker)]
