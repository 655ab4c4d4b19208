"""A steady load through every flow, each item remembered with the fault it ran under.

- ERP business (ops/erp/simulate.py): sales, cancellations, adjustments, receipts -> CDC ->
  stock positions and alerts, and each sales line enriched for analysts; each sales order is
  audited on its CDC topic, each line's latest state on `analytics.sales_enriched`.
- Sink feed: every second two WhatsApp messages and one purchase-order command onto
  `messages.outbound` / `erp.commands`, each produced twice (a redelivery).
- Customers: each phone asks for tires, picks the first option and says "sí", through the
  WhatsApp double, the signed webhook, the sales agent and the message sink; a phone writes its
  next line once its last one was answered.
- Delivery routes: tomorrow is planned once for every branch when the load starts (as the 18:00
  crontab would); the sales that need delivery keep joining and leaving (cancellations) the day,
  which the routes worker re-plans, writes to the ERP and tells the customers.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import asyncpg
import orjson
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from ops.chaos.pipeline import ChaosPipeline
from ops.erp.simulate import simulate_day
from schemas.commands import (
    CommandEnvelope,
    CreatePurchaseOrderDraft,
    OutboundMessage,
    PurchaseLine,
)
from schemas.routes import RouteDayEvent
from schemas.topics import load_catalogue

SCRIPT = ("Hola, necesito 4 llantas para Jetta 2020, ¿cuánto cuesta?", "la primera", "sí")
FEED_PHONES = ("5215590000001", "5215590000002")
TEMPLATE = "alerta_inventario"
ENRICHED = "analytics.sales_enriched"
PLAN_TIME_LIMIT_S = 5.0  # the first plan of a branch-day; re-plans take the flow's own limit


@dataclass(frozen=True)
class Issued:
    phase: str
    at: float  # wall clock


@dataclass(frozen=True)
class Inbound:
    phase: str
    at: float
    phone: str
    text: str


@dataclass
class Load:
    pipeline: ChaosPipeline
    erp_rate: float = 4.0
    phase: str = "warmup"
    messages: dict[str, Issued] = field(default_factory=dict)  # by idempotency key
    commands: dict[str, Issued] = field(default_factory=dict)
    inbound: dict[str, Inbound] = field(default_factory=dict)  # WhatsApp message id ->
    cdc_seen: dict[int, float] = field(default_factory=dict)  # sales order id -> seen at
    # sales order id -> its CDC record's timestamp (CDC's producer stamps it when it produces)
    cdc_stamped: dict[int, float] = field(default_factory=dict)
    # sales line id -> (records on analytics.sales_enriched, last order_status, last qty)
    enriched: dict[int, tuple[int, str, int]] = field(default_factory=dict)
    stats: Counter[str] = field(default_factory=Counter)
    route_days: list[str] = field(default_factory=list)  # "<date>:<branch>" asked to be planned
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _writing: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    _answers_before: dict[str, int] = field(default_factory=dict)
    _turn: Counter[str] = field(default_factory=Counter)

    _producer: Producer | None = None
    _tail: threading.Thread | None = None
    _tail_stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        self._producer = Producer({"bootstrap.servers": self.pipeline.stack.bootstrap_servers,
                                   "linger.ms": 5, "message.timeout.ms": 600_000})
        self._tail = threading.Thread(target=self._tail_sales_orders, daemon=True)
        self._tail.start()
        self._tasks = [asyncio.create_task(coro) for coro in
                       (self._business(), self._feed(), self._customers(),
                        *([self._plan_routes()] if self.pipeline.routes else []))]

    async def stop(self) -> None:
        """Issue nothing more (idempotent)."""
        self._stop.set()
        await asyncio.gather(*self._tasks, *self._writing.values(), return_exceptions=True)
        if self._producer is not None:
            await asyncio.to_thread(self._producer.flush, 60)

    def close(self) -> None:
        """Stop following the sales orders' topic."""
        self._tail_stop.set()
        if self._tail is not None:
            self._tail.join(10)

    # ------------------------------------------------------------------ ERP business
    async def _business(self) -> None:
        seed = 100
        while not self._stop.is_set():
            seed += 1
            try:
                done = await simulate_day(self.pipeline.stack.erp_dsn, rate=self.erp_rate,
                                          duration=5, seed=seed, stop=self._stop)
                self.stats.update(done)
            except Exception:  # noqa: BLE001 - the database restarting: try again shortly
                self.stats["erp_errors"] += 1
                await _sleep(self._stop, 1.0)

    def _tail_sales_orders(self) -> None:
        """Every sales order on its CDC topic, with when it was seen (wall clock), and every
        enriched sales line."""
        orders = load_catalogue().cdc_topic("sales_orders").name
        consumer = Consumer({"bootstrap.servers": self.pipeline.stack.bootstrap_servers,
                             "group.id": "chaos-audit", "enable.auto.commit": False,
                             "fetch.wait.max.ms": 100})
        try:
            meta = consumer.list_topics(timeout=30).topics
            consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t in (orders, ENRICHED)
                             for p in meta[t].partitions])
            while not self._tail_stop.is_set():
                for msg in consumer.consume(1000, timeout=0.3):
                    if msg.error() or msg.value() is None:
                        continue
                    value = orjson.loads(msg.value())
                    if msg.topic() == ENRICHED:
                        n = self.enriched.get(value["line_id"], (0, "", 0))[0]
                        self.enriched[value["line_id"]] = (n + 1, value["order_status"],
                                                           value["qty"])
                    elif "id" in (row := value.get("after") or {}):
                        self.cdc_seen.setdefault(int(row["id"]), time.time())
                        self.cdc_stamped.setdefault(int(row["id"]), msg.timestamp()[1] / 1000)
        finally:
            consumer.close()

    # ------------------------------------------------------------------ sink feed
    async def _feed(self) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            now = datetime.now(UTC)
            for phone in FEED_PHONES:
                key = f"msg:chaos:{self.phase}:{phone[-1]}:{n}"
                self.messages[key] = Issued(self.phase, time.time())
                self._produce_twice("messages.outbound", phone, OutboundMessage(
                    idempotency_key=key, to=phone, template=TEMPLATE,
                    template_params=[key.removeprefix("msg:chaos:")], issued_at=now))
            key = f"po:chaos:{self.phase}:{n}"
            self.commands[key] = Issued(self.phase, time.time())
            self._produce_twice("erp.commands", key, CommandEnvelope(
                command=CreatePurchaseOrderDraft(
                    idempotency_key=key, issued_at=now, supplier_id=1, warehouse_id=1,
                    requested_by=key,  # the order's created_by: the audit finds it by content
                    lines=[PurchaseLine(product_id=1 + n % 5, qty=4, unit_cost=100)])))
            await _sleep(self._stop, 1.0)

    def _produce_twice(self, topic: str, key: str, value: OutboundMessage | CommandEnvelope
                       ) -> None:
        assert self._producer is not None
        raw = value.model_dump_json()
        for _ in range(2):
            while True:
                try:
                    self._producer.produce(topic, key=key.encode(), value=raw)
                    break
                except BufferError:  # the broker paused long enough to fill the queue
                    self._producer.poll(0.5)
        self._producer.poll(0)

    # ------------------------------------------------------------------ routes
    async def _plan_routes(self) -> None:
        """Ask for tomorrow's routes of every branch, once (the ERP simulation's deliveries are
        for tomorrow); from then on each order joining or leaving the day re-plans it."""
        conn = await asyncpg.connect(self.pipeline.stack.erp_dsn)
        try:
            branches = [r["id"] for r in await conn.fetch(
                "SELECT id FROM warehouses WHERE is_branch ORDER BY id")]
        finally:
            await conn.close()
        assert self._producer is not None
        tomorrow = date.today() + timedelta(days=1)
        for branch in branches:
            request = RouteDayEvent(kind="plan", route_date=tomorrow, warehouse_id=branch,
                                    at=datetime.now(UTC), time_limit_s=PLAN_TIME_LIMIT_S,
                                    requested_by="chaos")
            self._producer.produce("routes.day_events", key=request.key.encode(),
                                   value=request.model_dump_json().encode())
            self.route_days.append(request.key)
        self._producer.poll(0)

    # ------------------------------------------------------------------ customers
    async def _customers(self) -> None:
        while not self._stop.is_set():
            arrivals = Counter(to for to, _ in self.pipeline.double.arrivals())
            for phone in self.pipeline.phones:
                writing = self._writing.get(phone)
                answered = arrivals[phone.lstrip("+")] > self._answers_before.get(phone, -1)
                if answered and (writing is None or writing.done()):
                    self._answers_before[phone] = arrivals[phone.lstrip("+")]
                    self._writing[phone] = asyncio.create_task(self._write(phone))
            await _sleep(self._stop, 0.3)

    async def _write(self, phone: str) -> None:
        text = SCRIPT[self._turn[phone] % len(SCRIPT)]
        self._turn[phone] += 1
        phase, at = self.phase, time.time()
        message_id = await self.pipeline.double.simulate_inbound(phone, text=text)
        self.inbound[message_id] = Inbound(phase, at, phone, text)

    # ------------------------------------------------------------------ probes
    def first_after(self, since: float) -> tuple[str | None, str | None, str | None]:
        """The first sink message, command and customer message issued after `since`."""
        return (next((k for k, v in self.messages.items() if v.at >= since), None),
                next((k for k, v in self.commands.items() if v.at >= since), None),
                next((k for k, v in self.inbound.items() if v.at >= since), None))


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
