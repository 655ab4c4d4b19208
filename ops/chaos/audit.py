"""What should have happened against what did: the ERP, the topics, the sinks' ledgers and the
WhatsApp double's log.

`fetch` gathers the evidence of a run (`Evidence`: plain data, written beside the results so a
verdict can be re-checked); `tally` is the verdict, a pure function of what the load issued
(`Expected`) and the evidence. Per fault (each item counts under the fault it was issued in):
- `lost`: a sales order the ERP committed that never reached its CDC topic; a sales line of
  such an order missing from `analytics.sales_enriched`, or whose latest record there is not
  the ERP's (status, qty) (the line's last change was never enriched); a feed message
  neither settled in the ledger nor delivered (`sent` in the ledger but absent from the
  double's log is lost too; `unknown`, a worker that died mid-call, is dead-lettered for an
  operator and not counted lost); a purchase-order command that made no purchase order; a
  customer message whose reply the ledger does not hold settled, or holds `sent` with a
  provider id the double never issued;
- `duplicated_erp_writes`: purchase orders beyond one per command and lines beyond one per
  order, found by the command's content (the order's `created_by` is the command's key), not
  by the idempotency key the sink deduplicates on;
- `duplicated_messages`: a feed message delivered more than once (found by its content in the
  double's log), and deliveries no ledger row accounts for beyond the `unknown` rows (a row left
  `unknown` may account for one delivery).
- delivery routes (the days the load asked to plan): `lost` also counts an order needing
  delivery that the day's last plan on `routes.plans` neither routes nor lists unassigned, a
  cancelled one it still routes, and one it routes that the ERP's `deliveries` row does not
  put on that vehicle (the write-back was lost).
Also for the whole run: customers' reservations beyond their "sí" messages, dead letters per
topic, stock positions on `inventory.position` that end different from the ERP.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Protocol

import asyncpg
import orjson
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from transport.dlq import DeadLetter

SETTLED = ("sent", "unknown")
FEED_PREFIX = "msg:chaos:"  # feed messages' keys; the template's first parameter is the rest
COMMAND_PREFIX = "po:chaos:"


@dataclass(frozen=True)
class Window:
    phase: str
    start: float
    end: float


class IssuedItem(Protocol):
    @property
    def phase(self) -> str: ...


class Expected(Protocol):
    """What the load issued (ops/chaos/load.py `Load`), by key, each with its phase."""

    messages: Mapping[str, IssuedItem]  # feed message idempotency key ->
    commands: Mapping[str, IssuedItem]  # purchase-order command key ->
    inbound: Mapping[str, IssuedItem]  # customer's WhatsApp message id ->
    cdc_seen: Mapping[int, float]  # sales order id -> when seen on its CDC topic
    # sales line id -> (records on analytics.sales_enriched, last order_status, last qty)
    enriched: Mapping[int, tuple[int, str, int]]


@dataclass
class Evidence:
    """What is there after a run, as plain data."""

    ledger: dict[str, dict[str, Any]]  # topllantas.sent_messages by idempotency key
    purchase_orders: dict[str, dict[str, int]]  # command key -> {"orders": n, "lines": n}
    orders: list[dict[str, Any]]  # sales orders committed since the run began: id, at, key
    stock: dict[tuple[int, int], int]  # (product, warehouse) -> on hand
    deliveries: list[dict[str, Any]]  # the WhatsApp double's log: wamid, to, type, body, at
    lines: list[dict[str, Any]] = field(default_factory=list)  # those orders' lines: id, at
    #   (the order's commit), status (the order's), qty
    # those orders that need delivery on a planned day: id, at, status, vehicle_id (the ERP's
    # `deliveries` row; None: not on a route)
    delivery_orders: list[dict[str, Any]] = field(default_factory=list)
    routed: dict[str, int | None] = field(default_factory=dict)  # order id -> its vehicle in
    #   the last plan of its day (None: unassigned), for the days the load asked to plan

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["stock"] = [[p, w, n] for (p, w), n in self.stock.items()]
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Evidence:
        return cls(**{**data, "stock": {(p, w): n for p, w, n in data["stock"]}})


@dataclass(frozen=True)
class Item:
    phase: str


@dataclass
class Recorded:
    """An `Expected` read back from a snapshot."""

    messages: dict[str, Item]
    commands: dict[str, Item]
    inbound: dict[str, Item]
    cdc_seen: dict[int, float]
    enriched: dict[int, tuple[int, str, int]] = field(default_factory=dict)


def snapshot(expected: Expected, evidence: Evidence, windows: list[Window]) -> dict[str, Any]:
    """Everything `tally` reads, as JSON: a verdict can be re-checked (and a test can tamper
    with a real run's evidence)."""
    return {"windows": [[w.phase, w.start, w.end if w.end != float("inf") else None]
                        for w in windows],
            "expected": {name: {k: v.phase for k, v in getattr(expected, name).items()}
                         for name in ("messages", "commands", "inbound")}
            | {"cdc_seen": {str(k): v for k, v in expected.cdc_seen.items()},
               "enriched": {str(k): v for k, v in expected.enriched.items()}},
            "evidence": evidence.as_json()}


def from_snapshot(data: dict[str, Any]) -> tuple[Recorded, Evidence, list[Window]]:
    items = {name: {k: Item(phase) for k, phase in data["expected"][name].items()}
             for name in ("messages", "commands", "inbound")}
    recorded = data["expected"]
    expected = Recorded(**items, cdc_seen={int(k): v for k, v in recorded["cdc_seen"].items()},
                        enriched={int(k): tuple(v)  # type: ignore[misc]
                                  for k, v in recorded.get("enriched", {}).items()})
    windows = [Window(phase, start, float("inf") if end is None else end)
               for phase, start, end in data["windows"]]
    return expected, Evidence.from_json(data["evidence"]), windows


async def fetch(dsn: str, since: float, deliveries: list[dict[str, Any]],
                route_days: Sequence[str] = ()) -> Evidence:
    conn = await asyncpg.connect(dsn)
    try:
        ledger = await conn.fetch("SELECT idempotency_key, status, provider_message_id "
                                  "FROM topllantas.sent_messages")
        pos = await conn.fetch(
            "SELECT po.created_by AS key, count(*) AS orders, sum((SELECT count(*) FROM "
            "purchase_order_lines l WHERE l.po_id = po.id))::int AS lines "
            "FROM purchase_orders po WHERE po.created_by LIKE $1 GROUP BY 1",
            COMMAND_PREFIX + "%")
        orders = await conn.fetch(
            "SELECT id, extract(epoch FROM created_at)::float8 AS at, idempotency_key "
            "FROM sales_orders WHERE created_at >= to_timestamp($1)", since)
        stock = await conn.fetch("SELECT product_id, warehouse_id, on_hand FROM stock")
        lines = await conn.fetch(
            "SELECT l.id, extract(epoch FROM o.created_at)::float8 AS at, o.status, l.qty "
            "FROM sales_order_lines l JOIN sales_orders o ON o.id = l.order_id "
            "WHERE o.created_at >= to_timestamp($1)", since)
        delivery_orders = await conn.fetch(
            "SELECT o.id, extract(epoch FROM o.created_at)::float8 AS at, o.status, d.vehicle_id "
            "FROM sales_orders o LEFT JOIN deliveries d ON d.sales_order_id = o.id "
            "WHERE o.created_at >= to_timestamp($1) AND o.needs_delivery AND "
            "o.status IN ('confirmado', 'cancelado') AND "
            "o.delivery_date::text || ':' || o.warehouse_id::text = ANY($2::text[])",
            since, list(route_days))
    finally:
        await conn.close()
    return Evidence(
        ledger={r["idempotency_key"]: {"status": r["status"],
                                       "provider_message_id": r["provider_message_id"]}
                for r in ledger},
        purchase_orders={r["key"]: {"orders": r["orders"], "lines": r["lines"]} for r in pos},
        orders=[dict(r) for r in orders],
        stock={(r["product_id"], r["warehouse_id"]): r["on_hand"] for r in stock},
        deliveries=[{k: m[k] for k in ("wamid", "to", "type", "body", "at")}
                    for m in deliveries],
        lines=[dict(r) for r in lines], delivery_orders=[dict(r) for r in delivery_orders])


def feed_key(delivery: dict[str, Any]) -> str | None:
    """The feed message a delivery carries (its template's first parameter), if any."""
    if delivery["type"] != "template":
        return None
    params = [p.get("text", "") for c in delivery["body"]["template"].get("components", [])
              for p in c.get("parameters", [])]
    return FEED_PREFIX + params[0] if params else None


def phase_of(windows: list[Window], at: float) -> str:
    for window in windows:
        if window.start <= at < window.end:
            return window.phase
    return windows[-1].phase if at >= windows[-1].end else windows[0].phase


def tally(expected: Expected, evidence: Evidence, windows: list[Window]) -> dict[str, Any]:
    """Per fault window: lost, duplicated_erp_writes, duplicated_messages, unknown_messages
    and the detail they add up from."""
    per: defaultdict[str, Counter[str]] = defaultdict(Counter)
    ledger = evidence.ledger
    delivered = Counter(feed_key(d) for d in evidence.deliveries)
    wamids = {d["wamid"] for d in evidence.deliveries}
    for key, issued in expected.messages.items():
        c, row, n = per[issued.phase], ledger.get(key), delivered[key]
        status = row["status"] if row else None
        c["lost_messages"] += status not in SETTLED or (status == "sent" and n == 0)
        c["unknown"] += status == "unknown"
        c["messages_delivered_twice"] += max(0, n - 1)
    for key, issued in expected.commands.items():
        made = evidence.purchase_orders.get(key, {"orders": 0, "lines": 0})
        per[issued.phase]["lost_commands"] += made["orders"] == 0
        per[issued.phase]["duplicated_erp_writes"] += (max(0, made["orders"] - 1)
                                                       + max(0, made["lines"] - made["orders"]))
    replies_unknown: Counter[str] = Counter()
    for message_id, inbound in expected.inbound.items():
        row = ledger.get(f"wa-reply:{message_id}:0")
        status = row["status"] if row else None
        never_got = row is not None and status == "sent" and (
            row["provider_message_id"] not in wamids)
        per[inbound.phase]["lost_customer_messages"] += status not in SETTLED or never_got
        per[inbound.phase]["unknown"] += status == "unknown"
        replies_unknown[inbound.phase] += status == "unknown"
    for order in evidence.orders:
        lost = order["id"] not in expected.cdc_seen
        per[phase_of(windows, order["at"])]["lost_cdc_events"] += lost
    for line in evidence.lines:
        c, got = per[phase_of(windows, line["at"])], expected.enriched.get(line["id"])
        c["lost_enriched_lines"] += got is None
        c["stale_enriched_lines"] += got is not None and (
            [got[1], got[2]] != [line["status"], line["qty"]])
        c["enriched_records"] += got[0] if got else 0
    for order in evidence.delivery_orders:
        c, key = per[phase_of(windows, order["at"])], str(order["id"])
        vehicle = evidence.routed.get(key)
        if order["status"] == "cancelado":
            c["stale_routes"] += vehicle is not None
        else:
            c["lost_deliveries"] += key not in evidence.routed
            c["routes_not_in_erp"] += vehicle is not None and order["vehicle_id"] != vehicle
    accounted = {r["provider_message_id"] for r in ledger.values() if r["provider_message_id"]}
    for delivery in evidence.deliveries:
        if delivery["wamid"] not in accounted and feed_key(delivery) not in expected.messages:
            at = datetime.fromisoformat(delivery["at"]).timestamp()
            per[phase_of(windows, at)]["unaccounted_deliveries"] += 1
    faults = {}
    for window in windows:
        c = per[window.phase]
        faults[window.phase] = {
            "lost": sum(c[k] for k in ("lost_messages", "lost_commands",
                                       "lost_customer_messages", "lost_cdc_events",
                                       "lost_enriched_lines", "stale_enriched_lines",
                                       "lost_deliveries", "stale_routes",
                                       "routes_not_in_erp")),
            "duplicated_erp_writes": c["duplicated_erp_writes"],
            "duplicated_messages": c["messages_delivered_twice"] + max(
                0, c["unaccounted_deliveries"] - replies_unknown[window.phase]),
            "unknown_messages": c["unknown"], "detail": dict(c)}
    return faults


async def recovered(load: Any, since: float) -> bool:
    """The first sink message, command and customer message issued after `since` are done, and
    a sales order committed after `since` is on its CDC topic, a line of it enriched."""
    msg, cmd, inbound = load.first_after(since)
    if msg is None or cmd is None or inbound is None:
        return False
    conn = await asyncpg.connect(load.pipeline.stack.erp_dsn)
    try:
        sent = await conn.fetchval("SELECT count(*) FROM topllantas.sent_messages WHERE "
                                   "status = 'sent' AND idempotency_key = ANY($1::text[])",
                                   [msg, f"wa-reply:{inbound}:0"])
        po = await conn.fetchval("SELECT 1 FROM purchase_orders WHERE idempotency_key = $1", cmd)
        order, line = await conn.fetchrow(
            "SELECT min(o.id), min(l.id) FROM sales_orders o JOIN sales_order_lines l ON "
            "l.order_id = o.id WHERE o.created_at >= to_timestamp($1)", since)
    finally:
        await conn.close()
    return (sent == 2 and po is not None and order in load.cdc_seen
            and line in load.enriched)


async def audit(load: Any, windows: list[Window], since: float
                ) -> tuple[dict[str, Any], Evidence]:
    """The verdict per fault and for the whole run, and the evidence it was drawn from."""
    evidence = await fetch(load.pipeline.stack.erp_dsn, since, load.pipeline.double.messages,
                           load.route_days)
    bootstrap = load.pipeline.stack.bootstrap_servers
    if load.route_days:
        evidence.routed = routed(bootstrap, load.route_days)
    reservations = sum(1 for o in evidence.orders
                       if (o["idempotency_key"] or "").startswith("wa-order:"))
    confirmations = sum(1 for m in load.inbound.values() if m.text == "sí")
    return {"faults": tally(load, evidence, windows),
            "order_created": {o["id"]: o["at"] for o in evidence.orders}, "run": {
        "reservations": reservations, "confirmations": confirmations,
        "duplicated_reservations": max(0, reservations - confirmations),
        "sales_orders": len(evidence.orders), "feed_messages": len(load.messages),
        "commands": len(load.commands), "customer_messages": len(load.inbound),
        "dead_letters": dead_letters(bootstrap),
        **dict(zip(("stock_positions_off", "stock_units_off"),
                   stock_positions_off(bootstrap, evidence.stock), strict=True)),
        "delivery_orders": len(evidence.delivery_orders),
        "on_routes": sum(1 for v in evidence.routed.values() if v is not None)}}, evidence


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


def dead_letters(bootstrap: str) -> dict[str, dict[str, int]]:
    """Per dead-letter topic, how many for each stage and reason (transport/dlq.py headers)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "chaos-audit"})
    try:
        names = [t for t in consumer.list_topics(timeout=10).topics if t.endswith(".dlq")]
    finally:
        consumer.close()
    out: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for m in _read(bootstrap, names):
        letter = DeadLetter.from_record(m.headers(), m.key(), m.value())
        out[m.topic()][f"{letter.stage}: {letter.error[:160]}"] += 1
    return {topic: dict(reasons) for topic, reasons in out.items()}


def routed(bootstrap: str, days: list[str]) -> dict[str, int | None]:
    """Order id -> its vehicle in the last plan of each of `days` ("<date>:<branch>") on
    `routes.plans` (None: the plan lists it unassigned)."""
    last: dict[str, dict[str, Any]] = {}
    for message in _read(bootstrap, ["routes.plans"]):
        if message.value() is not None:
            plan = orjson.loads(message.value())
            key = f"{plan['route_date']}:{plan['branch']}"
            if key in days and plan["version"] >= last.get(key, {}).get("version", 0):
                last[key] = plan
    out: dict[str, int | None] = {}
    for plan in last.values():
        out |= {str(u["sales_order_id"]): None for u in plan["unassigned"]}
        out |= {str(stop["sales_order_id"]): vehicle["vehicle_id"]
                for vehicle in plan["vehicles"] for stop in vehicle["stops"]}
    return out


def stock_positions_off(bootstrap: str, erp: dict[tuple[int, int], int]) -> tuple[int, int]:
    """Keys whose last position on `inventory.position` is not the ERP's on-hand quantity, and
    the units they are off by in all (what shrinks while the stock flow works off a backlog)."""
    last: dict[tuple[int, int], int] = {}
    for message in _read(bootstrap, ["inventory.position"]):
        if message.value() is not None:
            value = orjson.loads(message.value())
            last[(value["product_id"], value["warehouse_id"])] = value["on_hand"]
    gaps = [abs(erp.get(key, 0) - on_hand) for key, on_hand in last.items()]
    return sum(1 for gap in gaps if gap), sum(gaps)
