"""What should have happened against what did: the ERP, the topics, the sinks' ledgers.

Per fault (each item counts under the fault it was issued in):
- `lost`: a sales order the ERP committed that never reached its CDC topic, a WhatsApp message
  of the feed neither sent nor reported `unknown` (dead-lettered for an operator), a purchase
  order command that made no purchase order, a customer message that got no answer;
- `duplicated_erp_writes`: purchase orders beyond one per command;
- `duplicated_messages`: messages the WhatsApp double accepted that no ledger row accounts for
  (a ledger row is settled `sent` with the provider's id of one delivery; a row left `unknown`
  by a worker that died mid-call may account for one delivery more).
Also for the whole run: customers' reservations beyond their "sí" messages, dead letters per
topic, stock positions on `inventory.position` that end different from the ERP.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from ops.chaos.load import Load

SETTLED = ("sent", "unknown")


@dataclass(frozen=True)
class Window:
    phase: str
    start: float
    end: float


async def _fetch(dsn: str, since: float) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        ledger = await conn.fetch("SELECT idempotency_key, status, recipient, "
                                  "provider_message_id FROM topllantas.sent_messages")
        pos = await conn.fetch("SELECT idempotency_key, count(*) AS n FROM purchase_orders "
                               "WHERE idempotency_key LIKE 'po:chaos:%' GROUP BY 1")
        orders = await conn.fetch(
            "SELECT id, extract(epoch FROM created_at)::float8 AS at, idempotency_key "
            "FROM sales_orders WHERE created_at >= to_timestamp($1)", since)
        stock = await conn.fetch("SELECT product_id, warehouse_id, on_hand FROM stock")
    finally:
        await conn.close()
    return {"ledger": {r["idempotency_key"]: r for r in ledger},
            "pos": {r["idempotency_key"]: r["n"] for r in pos}, "orders": orders,
            "stock": {(r["product_id"], r["warehouse_id"]): r["on_hand"] for r in stock}}


def _phase_of(windows: list[Window], at: float) -> str:
    for window in windows:
        if window.start <= at < window.end:
            return window.phase
    return windows[-1].phase if at >= windows[-1].end else windows[0].phase


async def recovered(load: Load, since: float) -> bool:
    """The first sink message, command and customer message issued after `since` are done, and
    a sales order committed after `since` is on its CDC topic."""
    msg, cmd, inbound = load.first_after(since)
    if msg is None or cmd is None or inbound is None:
        return False
    conn = await asyncpg.connect(load.pipeline.stack.erp_dsn)
    try:
        sent = await conn.fetchval("SELECT count(*) FROM topllantas.sent_messages WHERE "
                                   "status = 'sent' AND idempotency_key = ANY($1::text[])",
                                   [msg, f"wa-reply:{inbound}:0"])
        po = await conn.fetchval("SELECT 1 FROM purchase_orders WHERE idempotency_key = $1", cmd)
        order = await conn.fetchval("SELECT min(id) FROM sales_orders "
                                    "WHERE created_at >= to_timestamp($1)", since)
    finally:
        await conn.close()
    return sent == 2 and po is not None and order is not None and order in load.cdc_seen


async def audit(load: Load, windows: list[Window], since: float) -> dict[str, Any]:
    data = await _fetch(load.pipeline.stack.erp_dsn, since)
    ledger, per = data["ledger"], defaultdict(Counter)
    for key, issued in load.messages.items():
        row = ledger.get(key)
        per[issued.phase]["lost_messages"] += row is None or row["status"] not in SETTLED
        per[issued.phase]["unknown"] += row is not None and row["status"] == "unknown"
    for key, issued in load.commands.items():
        made = data["pos"].get(key, 0)
        per[issued.phase]["lost_commands"] += made == 0
        per[issued.phase]["duplicated_erp_writes"] += max(0, made - 1)
    for message_id, inbound in load.inbound.items():
        row = ledger.get(f"wa-reply:{message_id}:0")
        per[inbound.phase]["lost_customer_messages"] += (row is None
                                                         or row["status"] not in SETTLED)
        per[inbound.phase]["unknown"] += row is not None and row["status"] == "unknown"
    for order in data["orders"]:
        per[_phase_of(windows, order["at"])]["lost_cdc_events"] += order["id"] not in load.cdc_seen
    accounted = {r["provider_message_id"] for r in ledger.values() if r["provider_message_id"]}
    for message in load.pipeline.double.messages:
        if message["wamid"] not in accounted:
            at = datetime.fromisoformat(message["at"]).timestamp()
            per[_phase_of(windows, at)]["unaccounted_deliveries"] += 1
    faults = {}
    for window in windows:
        c = per[window.phase]
        faults[window.phase] = {
            "lost": sum(c[k] for k in ("lost_messages", "lost_commands",
                                       "lost_customer_messages", "lost_cdc_events")),
            "duplicated_erp_writes": c["duplicated_erp_writes"],
            "duplicated_messages": max(0, c["unaccounted_deliveries"] - c["unknown"]),
            "unknown_messages": c["unknown"], "detail": dict(c)}
    reservations = sum(1 for o in data["orders"]
                       if (o["idempotency_key"] or "").startswith("wa-order:"))
    confirmations = sum(1 for m in load.inbound.values() if m.text == "sí")
    return {"faults": faults, "order_created": {o["id"]: o["at"] for o in data["orders"]},
            "run": {
        "reservations": reservations, "confirmations": confirmations,
        "duplicated_reservations": max(0, reservations - confirmations),
        "sales_orders": len(data["orders"]), "feed_messages": len(load.messages),
        "commands": len(load.commands), "customer_messages": len(load.inbound),
        "dead_letters": dead_letters(load.pipeline.stack.bootstrap_servers),
        "stock_positions_off": stock_positions_off(load.pipeline.stack.bootstrap_servers,
                                                   data["stock"])}}


def _read(bootstrap: str, topics: list[str], idle: float = 2.0) -> list[Any]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "chaos-audit",
                         "enable.auto.commit": False, "fetch.wait.max.ms": 100})
    try:
        meta = consumer.list_topics(timeout=10).topics
        consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t in topics if t in meta
                         for p in meta[t].partitions])
        out, last = [], time.monotonic()
        while time.monotonic() - last < idle:
            batch = [m for m in consumer.consume(10_000, timeout=0.2) if not m.error()]
            out.extend(batch)
            if batch:
                last = time.monotonic()
        return out
    finally:
        consumer.close()


def dead_letters(bootstrap: str) -> dict[str, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "chaos-audit"})
    try:
        names = [t for t in consumer.list_topics(timeout=10).topics if t.endswith(".dlq")]
    finally:
        consumer.close()
    return dict(Counter(m.topic() for m in _read(bootstrap, names)))


def stock_positions_off(bootstrap: str, erp: dict[tuple[int, int], int]) -> int:
    """Keys whose last position on `inventory.position` is not the ERP's on-hand quantity."""
    last: dict[tuple[int, int], int] = {}
    for message in _read(bootstrap, ["inventory.position"]):
        if message.value() is not None:
            value = orjson.loads(message.value())
            last[(value["product_id"], value["warehouse_id"])] = value["on_hand"]
    return sum(1 for key, on_hand in last.items() if erp.get(key, 0) != on_hand)
