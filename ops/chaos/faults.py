"""The faults, one at a time: each breaks one thing, holds it broken, and heals it.

`hold_s` is how long the thing stays broken; a SIGKILLed process is restarted at once, as its
supervisor (systemd, Kubernetes) would. The embedded broker keeps its data in memory only, so it
is paused (SIGSTOP/SIGCONT), never killed.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ops.chaos.pipeline import ChaosPipeline

AGENT_SINKS, STOCK = "worker-agent-sinks", "worker-stock"


@dataclass(frozen=True)
class Fault:
    name: str
    what: str
    hold_s: float
    run: Callable[[ChaosPipeline, float, random.Random], Awaitable[None]]


async def _kill_worker(p: ChaosPipeline, name: str) -> None:
    await asyncio.to_thread(p.supervisor.kill, name)
    p.start_worker(name)


async def kill_mid_batch(p: ChaosPipeline, hold_s: float, rng: random.Random) -> None:
    """SIGKILL the customer-facing worker at a random moment of steady work."""
    await asyncio.sleep(rng.uniform(0, 3))
    await _kill_worker(p, AGENT_SINKS)


async def kill_mid_recovery(p: ChaosPipeline, hold_s: float, rng: random.Random) -> None:
    """SIGKILL it, and again while it is starting over (joining, recovering its tables)."""
    await _kill_worker(p, AGENT_SINKS)
    await asyncio.sleep(rng.uniform(2, 6))
    await _kill_worker(p, AGENT_SINKS)


async def kill_stock_worker(p: ChaosPipeline, hold_s: float, rng: random.Random) -> None:
    await asyncio.sleep(rng.uniform(0, 3))
    await _kill_worker(p, STOCK)


async def kill_cdc(p: ChaosPipeline, hold_s: float, rng: random.Random) -> None:
    await asyncio.to_thread(p.supervisor.kill, "cdc")
    await asyncio.sleep(hold_s)
    p.supervisor.start("cdc", "cdc", "run")


async def restart_postgres(p: ChaosPipeline, hold_s: float, rng: random.Random) -> None:
    await asyncio.to_thread(p.restart_postgres)


async def pause_broker(p: ChaosPipeline, hold_s: float, rng: random.Random) -> None:
    pid = p.stack.broker_pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    try:
        await asyncio.sleep(hold_s)
    finally:
        os.kill(pid, signal.SIGCONT)


async def unplug_sink_database(p: ChaosPipeline, hold_s: float, rng: random.Random) -> None:
    p.proxy.unplug()
    try:
        await asyncio.sleep(hold_s)
    finally:
        p.proxy.plug()


async def whatsapp_half_failing(p: ChaosPipeline, hold_s: float, rng: random.Random) -> None:
    """Every other send fails with HTTP 500 (through the double's `fail_next`): each tick queues
    failures for half of the requests that arrived since the fault began."""
    loop = asyncio.get_running_loop()
    end, start_requests, queued = loop.time() + hold_s, p.double.requests, 0
    while loop.time() < end:
        due = (p.double.requests - start_requests + 1) // 2 + 1
        if due > queued:
            p.double.fail_next(due - queued, "500")
            queued = due
        await asyncio.sleep(0.05)


async def llm_timing_out(p: ChaosPipeline, hold_s: float, rng: random.Random) -> None:
    """The OpenAI double stops answering (SIGSTOP): every call times out (LLM_TIMEOUT_S)."""
    p.supervisor.signal("llm-double", signal.SIGSTOP)
    try:
        await asyncio.sleep(hold_s)
    finally:
        p.supervisor.signal("llm-double", signal.SIGCONT)


def plan(*, quick: bool) -> list[Fault]:
    """Every fault once; `quick` holds the long ones for less time."""
    hold = (lambda full, short: short) if quick else (lambda full, short: full)
    return [
        Fault("worker_kill_mid_batch", "SIGKILL the agent+sinks worker under load", 0,
              kill_mid_batch),
        Fault("worker_kill_mid_recovery", "SIGKILL it twice, the second time while it "
              "recovers", 0, kill_mid_recovery),
        Fault("worker_kill_stock", "SIGKILL the stock worker under load", 0, kill_stock_worker),
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
