"""`topllantas bench agent`: the sales agent's accuracy and per-turn latency.

(a) Understanding accuracy on the corpus's train/dev/test/holdout splits (`agent_accuracy`;
    targets on test: intent >= 90 %, each slot >= 95 %).
(b) Per-turn latency of the agent on a real ERP (embedded PostgreSQL seeded with the reference
    catalogue), conversations arriving open-loop, each the seed's three turns (Jetta 2020 ->
    "la primera" -> "sí"): on the deterministic path, and with the scripted LLM (a separate
    process answering at once), where LLM time and our own overhead (everything else:
    understanding, ERP reads, guard, state) are reported apart. Also the agent process's CPU per
    turn and the throughput reached, since the LLM path saturates this machine at 50 conv/s.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from time import perf_counter, process_time
from typing import Any

import asyncpg

from ops.bench.agent_accuracy import accuracy_rows
from ops.bench.agent_accuracy import record as record_accuracy
from ops.bench.agent_accuracy import reports as accuracy_reports
from ops.bench.agent_guard import record as record_guard_escapes
from ops.bench.agent_pipeline import llm_pipeline_rows, pipeline_rows
from ops.bench.report import percentile, report
from ops.erp.seed import seed_erp
from ops.stack.ephemeral import embedded_stack
from processors.sales_agent.turn import TurnOutcome
from schemas.whatsapp import InboundMessage
from sources.erp_reader import ErpReader
from streams.openai_client import LlmConfig, OpenAIResponder, SalesAgent

# (path, new conversations per second): the target rate on both paths, and the LLM path at a
# rate this 2-core machine sustains with the scripted LLM on it too (no queueing in the numbers).
SCENARIOS = [("deterministic", 50.0), ("llm", 50.0), ("llm", 10.0)]
TURNS = ["Hola, necesito 4 llantas para Jetta 2020, ¿cuánto cuesta?", "la primera", "sí"]
KEY = "bench-llm-key"


def main(runs: int = 3, quick: bool = False) -> None:
    rows = accuracy_rows(accuracy_reports())
    seconds = 2.0 if quick else 10.0
    with embedded_stack() as stack:
        asyncio.run(_seed(stack.erp_dsn))
        with _llm_double() as base_url:
            load_before = os.getloadavg()[0]
            rows += asyncio.run(_latency_rows(stack.reader_dsn, stack.erp_dsn, base_url, runs,
                                              seconds))
            load_after = os.getloadavg()[0]
    with embedded_stack() as stack:
        rows += pipeline_rows(stack, runs, seconds)
    with embedded_stack() as stack:
        rows += llm_pipeline_rows(stack, runs, min(seconds, 2.0))
    report("agent", rows, meta={
        "runs": runs, "seconds_of_arrivals_per_run": seconds, "scenarios": SCENARIOS,
        "turns": TURNS, "load_average_1m": [round(load_before, 2), round(load_after, 2)],
        "note": "p50/p99 are medians over runs; the scripted LLM runs in its own process on "
                "the same machine, so it competes for the same cores as the ERP and the agent"})
    record_guard_escapes()
    record_accuracy()


async def _seed(dsn: str) -> None:
    """The reference catalogue, then vacuumed and checkpointed so the measured runs do not
    share the machine with autovacuum and the checkpointer flushing the seed."""
    await seed_erp(dsn)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("VACUUM (ANALYZE)")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


@contextmanager
def _llm_double() -> Iterator[str]:
    """The scripted OpenAI-compatible server in its own process (its CPU is not ours)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "ops.doubles.openai_double", "--port", str(port), "--script",
         "seed", "--api-key", KEY], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        process.stdout.readline()  # the banner: listening
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def _latency_rows(reader_dsn: str, erp_dsn: str, base_url: str, runs: int,
                        seconds: float) -> list[dict[str, Any]]:
    phones = await _customer_phones(erp_dsn)
    config = LlmConfig(api_key=KEY, base_url=base_url, model="gpt-4o-mini", timeout_s=30.0,
                       max_retries=0, turn_budget_s=30.0)
    rows: list[dict[str, Any]] = []
    async with await ErpReader.connect(reader_dsn) as reader:
        for path, rate in SCENARIOS:
            per_run: list[_Run] = []
            for run in range(runs):
                responder = OpenAIResponder(config) if path == "llm" else None
                agent = SalesAgent(reader, responder)
                tag = f"{path}{rate:g}.{run}"
                await _drive(agent, phones, 5, rate, f"warm.{tag}")  # connections, caches
                per_run.append(await _measured(agent, phones, round(rate * seconds), rate, tag))
                await agent.aclose()
            rows += _rows_for(path, rate, per_run)
    return rows


async def _customer_phones(dsn: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT phone FROM customers WHERE phone IS NOT NULL "
                                "AND tier = 'publico' ORDER BY id LIMIT 50")
    finally:
        await conn.close()
    return [r["phone"] for r in rows]


@dataclass
class _Run:
    outcomes: list[TurnOutcome]
    wall_s: float
    cpu_s: float  # this process (the agent), not the LLM double nor PostgreSQL


async def _measured(agent: SalesAgent, phones: list[str], conversations: int, rate: float,
                    tag: str) -> _Run:
    wall, cpu = perf_counter(), process_time()
    outcomes = await _drive(agent, phones, conversations, rate, tag)
    return _Run(outcomes, perf_counter() - wall, process_time() - cpu)


async def _drive(agent: SalesAgent, phones: list[str], conversations: int, rate: float,
                 tag: str) -> list[TurnOutcome]:
    """Start conversations at `rate` per second (open loop); each runs its turns in order."""
    outcomes: list[TurnOutcome] = []

    async def conversation(index: int) -> None:
        state = None
        for turn, text in enumerate(TURNS):
            now = datetime.now(UTC)
            message = InboundMessage(message_id=f"bench.{tag}.{index}.{turn}",
                                     from_phone=phones[index % len(phones)], kind="text",
                                     text=text, sent_at=now, received_at=now)
            outcome = await agent.handle(state, message)
            state = outcome.state
            outcomes.append(outcome)

    started = perf_counter()
    tasks = []
    for index in range(conversations):
        tasks.append(asyncio.create_task(conversation(index)))
        await asyncio.sleep(max(0.0, started + (index + 1) / rate - perf_counter()))
    await asyncio.gather(*tasks)
    return outcomes


def _rows_for(path: str, rate: float, per_run: list[_Run]) -> list[dict[str, Any]]:
    scenario = f"{path} path @ {rate:g} conv/s"

    def row(measure: str, value: Callable[[TurnOutcome], float]) -> dict[str, Any]:
        def median_of(q: float) -> float:
            return statistics.median(percentile([value(o) * 1000 for o in r.outcomes], q)
                                     for r in per_run)

        return {"measure": f"{scenario}: {measure}", "p50 ms": round(median_of(50), 2),
                "p99 ms": round(median_of(99), 2)}

    rows = [row("turn total", lambda o: o.total_s)]
    if path == "llm":
        rows.append(row("LLM time (scripted, instant)", lambda o: o.llm_s))
    rows += [row("own overhead (total - LLM)", lambda o: o.overhead_s),
             row("  of which ERP reads", lambda o: o.tools_s)]
    outcomes = [o for r in per_run for o in r.outcomes]
    expected = "llm" if path == "llm" else "deterministic"
    off_path = sum(o.path != expected for o in outcomes)
    turns_per_s = statistics.median(len(r.outcomes) / r.wall_s for r in per_run)
    cpu_ms = statistics.median(r.cpu_s / len(r.outcomes) * 1000 for r in per_run)
    rows[0].update({
        "turns/s": f"{turns_per_s:.0f} of {rate * len(TURNS):g}",
        "agent CPU ms/turn": round(cpu_ms, 2),
        "note": f"{len(per_run[0].outcomes)} turns/run; {off_path} off the {expected} path; "
                f"{sum(o.order is not None for o in outcomes)} orders"})
    return rows
