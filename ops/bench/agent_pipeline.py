"""The sales agent's end-to-end latency: signed webhook call -> reply request at the double.

Real processes: the webhook ingress and a Faust worker (agent + WhatsApp sink) against the
embedded stack; the WhatsApp double runs in this process and calls our webhook like Meta does.
Each conversation is a distinct customer phone asking for a quote by tire size; the scripted
LLM is not involved (deterministic path), so the numbers are our own pipeline's.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from ops.bench.report import median, percentile
from ops.doubles.whatsapp_double import WhatsAppDouble
from ops.erp.generate import generate_catalogue
from ops.erp.seed import seed_erp
from ops.stack.ephemeral import RunningStack
from ops.stack.processes import free_port
from ops.supervisor import Supervisor
from ops.topics_admin import apply_catalogue
from sources.whatsapp_webhook.app import WEBHOOK_PATH

QUESTION = "Hola, ¿tienes 4 llantas 205/55R16? ¿cuánto cuestan?"


async def _run(double: WhatsAppDouble, rate: float, seconds: float, first_phone: int
               ) -> list[float]:
    sent: dict[str, float] = {}  # wall-clock seconds
    seen: dict[str, float] = {}  # the double's own arrival time of the first reply
    n = int(rate * seconds)

    async def watch() -> None:
        while len(seen) < n:
            for wa_id, at in double.arrivals():
                to = wa_id[-10:]
                if to in sent and to not in seen:
                    seen[to] = datetime.fromisoformat(at).timestamp()
            await asyncio.sleep(0.1)

    watcher = asyncio.create_task(watch())
    started = time.perf_counter()
    tasks = []
    for i in range(n):
        phone = f"521{first_phone + i:010d}"
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        sent[phone[-10:]] = time.time()
        tasks.append(asyncio.create_task(double.simulate_inbound(phone, QUESTION)))
    await asyncio.gather(*tasks)
    try:
        await asyncio.wait_for(watcher, 60)
    except TimeoutError:
        watcher.cancel()
    return [(seen[p] - sent[p]) * 1000 for p in seen]


def pipeline_rows(stack: RunningStack, runs: int, seconds: float, rate: float = 50.0
                  ) -> list[dict[str, Any]]:
    asyncio.run(seed_erp(stack.erp_dsn, catalogue=generate_catalogue(
        seed=3, n_products=400, n_customers=50, days=30)))
    apply_catalogue(stack.settings())
    webhook_port = free_port()
    env = {"TOPLLANTAS_STATE_DIR": str(stack.state_dir),
           "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap_servers, "BROKER_PROFILE": "embedded",
           "ERP_DATABASE_URL": stack.erp_dsn, "ERP_SINK_DATABASE_URL": stack.sink_dsn,
           "ERP_READER_DATABASE_URL": stack.reader_dsn, "FAUST_WEB_PORT": str(free_port())}

    async def measure() -> list[list[float]]:
        async with WhatsAppDouble.from_settings(
                stack.settings(), webhook_url=f"http://127.0.0.1:{webhook_port}{WEBHOOK_PATH}",
                auto_status=False) as double:
            with tempfile.TemporaryDirectory() as logs, Supervisor(
                    {**env, "WHATSAPP_BASE_URL": double.base_url}, Path(logs)) as sup:
                sup.start("webhook", "webhook", "--port", str(webhook_port))
                sup.start("worker", "worker", "--flows", "agent,sinks")
                await asyncio.sleep(5)
                warm = await _run(double, 2, 5, 10_000_000)  # joins, caches, first requests
                if not warm:
                    raise RuntimeError("no reply during warm-up; see the worker log")
                return [await _run(double, rate, seconds, 20_000_000 + k * 100_000)
                        for k in range(runs)]

    samples = asyncio.run(measure())
    expected = int(rate * seconds)
    return [
        {"measure": f"webhook -> reply at the WhatsApp double, {rate:.0f} conv/s, p50 (ms)",
         "value": median([percentile(s, 50) for s in samples]), "target": "<= 150",
         "runs": [round(percentile(s, 50), 1) for s in samples]},
        {"measure": f"webhook -> reply at the WhatsApp double, {rate:.0f} conv/s, p99 (ms)",
         "value": median([percentile(s, 99) for s in samples]), "target": "<= 500",
         "runs": [round(percentile(s, 99), 1) for s in samples]},
        {"measure": "replies received / conversations", "value": "",
         "target": "all", "runs": [f"{len(s)}/{expected}" for s in samples]},
    ]
