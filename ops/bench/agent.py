"""`topllantas bench agent`: the sales agent's accuracy and per-turn latency.

(a) Understanding accuracy of the deterministic path on `eval_set.yaml` (target >= 90 %).
(b) Per-turn latency of the agent on a real ERP (embedded PostgreSQL seeded with the reference
    catalogue) at 50 new conversations per second, each the seed's three turns (Jetta 2020 ->
    "la primera" -> "sí"): once with the scripted LLM (a separate process answering at once), so
    LLM time and our own overhead (everything else: understanding, ERP reads, guard, state) are
    reported apart, and once on the deterministic path alone.
"""

from __future__ import annotations

import asyncio
import socket
import statistics
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from time import perf_counter
from typing import Any

import asyncpg

from ops.bench.report import percentile, report
from ops.erp.seed import seed_erp
from ops.stack.ephemeral import embedded_stack
from processors.sales_agent.evaluation import evaluate_deterministic, load_eval_set
from processors.sales_agent.turn import TurnOutcome
from schemas.whatsapp import InboundMessage
from sources.erp_reader import ErpReader
from streams.agent_llm import LlmConfig, OpenAIResponder, SalesAgent

ACCURACY_TARGET = 0.90
RATE = 50.0  # new conversations per second
TURNS = ["Hola, necesito 4 llantas para Jetta 2020, ¿cuánto cuesta?", "la primera", "sí"]
KEY = "bench-llm-key"


def main(runs: int = 3, quick: bool = False) -> None:
    rows = _accuracy_rows()
    conversations = 100 if quick else 500
    with embedded_stack() as stack:
        asyncio.run(seed_erp(stack.erp_dsn))
        with _llm_double() as base_url:
            rows += asyncio.run(_latency_rows(stack.reader_dsn, stack.erp_dsn, base_url, runs,
                                              conversations))
    report("agent", rows, meta={"runs": runs, "conversations_per_run": conversations,
                                "rate_conversations_per_s": RATE, "turns": TURNS})


def _accuracy_rows() -> list[dict[str, Any]]:
    result = evaluate_deterministic(load_eval_set())
    rows = []
    for name, value in (("intent", result.intent_accuracy), ("slots", result.slot_accuracy),
                        ("exact (intent + all slots)", result.exact_accuracy)):
        rows.append({"measure": f"deterministic understanding, {name}, {result.cases} cases",
                     "value": round(value, 3), "target": f">= {ACCURACY_TARGET}",
                     "met": "yes" if value >= ACCURACY_TARGET else "NO"})
    return rows


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
                        conversations: int) -> list[dict[str, Any]]:
    phones = await _customer_phones(erp_dsn)
    config = LlmConfig(api_key=KEY, base_url=base_url, model="gpt-4o-mini", timeout_s=10.0,
                       max_retries=0, turn_budget_s=10.0)
    rows: list[dict[str, Any]] = []
    async with await ErpReader.connect(reader_dsn, max_size=10) as reader:
        for path in ("llm", "deterministic"):
            per_run: list[tuple[list[TurnOutcome], float]] = []
            for run in range(runs):
                responder = OpenAIResponder(config) if path == "llm" else None
                agent = SalesAgent(reader, responder)
                await _drive(agent, phones, 5, f"warm{run}{path}")  # connections, caches
                per_run.append(await _timed_drive(agent, phones, conversations, f"{run}{path}"))
                await agent.aclose()
            rows += _rows_for(path, per_run)
    return rows


async def _customer_phones(dsn: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT phone FROM customers WHERE phone IS NOT NULL "
                                "AND tier = 'publico' ORDER BY id LIMIT 50")
    finally:
        await conn.close()
    return [r["phone"] for r in rows]


async def _timed_drive(agent: SalesAgent, phones: list[str], conversations: int, tag: str
                       ) -> tuple[list[TurnOutcome], float]:
    started = perf_counter()
    outcomes = await _drive(agent, phones, conversations, tag)
    return outcomes, perf_counter() - started


async def _drive(agent: SalesAgent, phones: list[str], conversations: int, tag: str
                 ) -> list[TurnOutcome]:
    """Start conversations at RATE per second (open loop); each runs its turns in order."""
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
        await asyncio.sleep(max(0.0, started + (index + 1) / RATE - perf_counter()))
    await asyncio.gather(*tasks)
    return outcomes


def _rows_for(path: str, per_run: list[tuple[list[TurnOutcome], float]]
              ) -> list[dict[str, Any]]:
    def row(measure: str, value: Callable[[TurnOutcome], float]) -> dict[str, Any]:
        p50 = statistics.median(percentile([value(o) * 1000 for o in outs], 50)
                                for outs, _ in per_run)
        p99 = statistics.median(percentile([value(o) * 1000 for o in outs], 99)
                                for outs, _ in per_run)
        return {"measure": f"{path} path: {measure}", "p50 ms": round(p50, 2),
                "p99 ms": round(p99, 2), "turns/run": len(per_run[0][0])}

    label = "LLM (scripted, instant)" if path == "llm" else ""
    rows = [row("turn total", lambda o: o.total_s)]
    if path == "llm":
        rows.append(row(f"{label} time", lambda o: o.llm_s))
    rows += [row("own overhead (total - LLM)", lambda o: o.overhead_s),
             row("  of which ERP reads", lambda o: o.tools_s)]
    outcomes = [o for outs, _ in per_run for o in outs]
    expected = "llm" if path == "llm" else "deterministic"
    off_path = sum(o.path != expected for o in outcomes)
    orders = sum(o.order is not None for o in outcomes)
    turns_per_s = statistics.median(len(outs) / wall for outs, wall in per_run)
    rows[0].update({"turns/s": round(turns_per_s, 1),
                    "note": f"{off_path} turns off the {expected} path; {orders} orders"})
    return rows
