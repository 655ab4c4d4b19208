"""Two sales-agent workers in one consumer group while customers talk: conversations (a Faust
table keyed by phone) move to a worker that joins, back when it leaves, and again when one is
SIGKILLed. Each customer asks for tires, picks the first option and says "sí", over and over;
every message arrives twice (WhatsApp redelivers). Every message gets its answer, sent once,
and every "sí" makes exactly one reservation in the ERP: a conversation that moved, or was
replayed from an older offset after the crash, neither forgets its quote nor reserves twice.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

import asyncpg
import pytest
from confluent_kafka import Producer

from ops.doubles.whatsapp_double import WhatsAppDouble
from ops.stack.processes import free_port
from ops.supervisor import Supervisor
from schemas.whatsapp import InboundMessage
from tests.integration.conftest import process_env
from tests.integration.test_analytics_enrichment import Pipeline, web_up
from tests.integration.test_scale_out import ledger as sink_ledger
from tests.integration.test_sink_agents import eventually, meanwhile
from tests.stack_fixture import TestStack

pytestmark = pytest.mark.integration

AGENT_FLOW = ("worker", "--flows", "agent")
SCRIPT = ("Hola, necesito 4 llantas para Jetta 2020, ¿cuánto cuesta?", "la primera", "sí")
CUSTOMERS = 12


async def customers_with_stock(stack: TestStack) -> list[str]:
    """Phones of `CUSTOMERS` customers; every 205/55R16 tire in stock at every branch, enough
    for all the reservations the test makes (the agent offers the best ones, not one we pick).
    """
    conn = await asyncpg.connect(stack.erp_dsn)
    try:
        phones = await conn.fetch("SELECT phone FROM customers WHERE phone IS NOT NULL "
                                  "ORDER BY id LIMIT $1", CUSTOMERS)
        stocked = await conn.execute(
            "INSERT INTO stock (product_id, warehouse_id, on_hand) "
            "SELECT p.id, w.id, 100000 FROM products p CROSS JOIN warehouses w "
            "WHERE p.tire_size = '205/55R16' ON CONFLICT (product_id, warehouse_id) "
            "DO UPDATE SET on_hand = 100000, reserved = 0")
        assert stocked != "INSERT 0 0", "the seeded catalogue has no 205/55R16 tire"
    finally:
        await conn.close()
    return [r["phone"] for r in phones]


class Customers:
    """Each phone writes its next line of `SCRIPT` once the answer to its last one has arrived
    at the WhatsApp double, starting over after "sí"; every message is produced twice."""

    def __init__(self, stack: TestStack, double: WhatsAppDouble, phones: list[str]) -> None:
        self.producer = Producer({"bootstrap.servers": stack.bootstrap_servers,
                                  "partitioner": "murmur2_random", "linger.ms": 5})
        self.double = double
        self.phones = phones
        self.sent: Counter[str] = Counter()  # messages written per phone
        self.answers_before: dict[str, int] = {}  # replies the phone had when it last wrote

    def replies(self) -> Counter[str]:
        return Counter(to for to, _ in self.double.arrivals())

    def answered(self, phone: str, replies: Counter[str]) -> bool:
        return replies[phone] > self.answers_before.get(phone, -1)

    def write(self, phone: str, replies: Counter[str]) -> None:
        n = self.sent[phone]
        now = datetime.now(UTC)
        message = InboundMessage(message_id=f"wamid.scale.{phone}.{n}", from_phone=phone,
                                 kind="text", text=SCRIPT[n % len(SCRIPT)], sent_at=now,
                                 received_at=now)
        self.double.open_window(phone)
        for _ in range(2):
            self.producer.produce("whatsapp.inbound", key=phone.encode(),
                                  value=message.model_dump_json())
        self.producer.poll(0)
        self.sent[phone] = n + 1
        self.answers_before[phone] = replies[phone]

    def waiting(self) -> list[str]:
        """The phones whose last message has no answer yet."""
        replies = self.replies()
        return [p for p in self.phones if not self.answered(p, replies)]

    def tick(self) -> None:
        """Every phone whose last message was answered writes again."""
        replies = self.replies()
        for phone in self.phones:
            if self.answered(phone, replies):
                self.write(phone, replies)

    async def until(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        await meanwhile(self.tick, done, timeout, what, every=0.3)
        assert self.producer.flush(30) == 0

    async def all_answered(self, timeout: float) -> None:
        async def none_waiting() -> bool:
            return not self.waiting()

        try:
            await eventually(none_waiting, timeout, "an answer to every message")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; unanswered: "
                                 f"{ {p: self.sent[p] for p in self.waiting()} }") from None

    def confirmations(self, phone: str) -> int:
        """The "sí" messages the phone wrote."""
        return self.sent[phone] // len(SCRIPT)


def turns(worker: Pipeline) -> float:
    return worker.metric("topllantas_agent_turn_seconds_count")


async def reservations(stack: TestStack, phones: list[str]) -> dict[str, list[tuple[str, int]]]:
    """(status, quantity) of each WhatsApp reservation per phone."""
    conn = await asyncpg.connect(stack.erp_dsn)
    try:
        rows = await conn.fetch(
            "SELECT c.phone, o.status, sum(l.qty) AS qty FROM sales_orders o "
            "JOIN customers c ON c.id = o.customer_id "
            "JOIN sales_order_lines l ON l.order_id = o.id "
            "WHERE o.idempotency_key LIKE 'wa-order:%' AND c.phone = ANY($1::text[]) "
            "GROUP BY o.id, c.phone, o.status", phones)
    finally:
        await conn.close()
    found: dict[str, list[tuple[str, int]]] = {p: [] for p in phones}
    for r in rows:
        found[r["phone"]].append((r["status"], int(r["qty"])))
    return found


async def test_conversations_survive_partition_moves_and_a_crash(
        fresh_stack: TestStack, supervisor: Supervisor) -> None:
    phones = await customers_with_stock(fresh_stack)
    async with WhatsAppDouble.from_settings(fresh_stack.settings()) as double:
        env = process_env(fresh_stack, WHATSAPP_BASE_URL=double.base_url)
        a = Pipeline(fresh_stack, env["FAUST_WEB_PORT"], supervisor)
        b = Pipeline(fresh_stack, str(free_port()), supervisor)
        supervisor.start("sinks", "worker", "--flows", "sinks",
                         env={**env, "FAUST_WEB_PORT": str(free_port())})
        supervisor.start("agent-a", *AGENT_FLOW, env=env)
        await eventually(lambda: asyncio.to_thread(web_up, a), 120, "the first worker's web")
        customers = Customers(fresh_stack, double, phones)
        await customers.until(lambda: sum(customers.sent.values()) >= 3 * len(phones), 120,
                              "the first answers")

        supervisor.start("agent-b", *AGENT_FLOW, env={**env, "FAUST_WEB_PORT": b.port})
        await customers.until(lambda: turns(b) > 0, 120, "the second worker to answer")

        # A leaves while customers write: its conversations move to B
        leaving = asyncio.create_task(asyncio.to_thread(supervisor.stop, "agent-a"))
        await customers.until(leaving.done, 60, "the first worker to stop")
        assert await leaving == 0, "the first worker did not stop cleanly"
        written = sum(customers.sent.values())
        await customers.until(lambda: sum(customers.sent.values()) >= written + 2 * len(phones),
                              120, "B to answer every customer twice")

        # A joins again, then B dies while it answers: A takes its conversations over
        supervisor.start("agent-a", *AGENT_FLOW, env=env)
        await customers.until(lambda: turns(a) > 0, 120, "the first worker to answer again")
        supervisor.kill("agent-b")
        written = sum(customers.sent.values())
        await customers.until(lambda: sum(customers.sent.values()) >= written + 2 * len(phones),
                              120, "A to answer every customer twice")
        await customers.all_answered(120)
        await asyncio.sleep(2)  # a repeat would come now
        replies = customers.replies()

    ledger = await sink_ledger(fresh_stack, "wa-reply:wamid.scale.%")
    assert set(ledger.values()) == {"sent"}
    for phone in phones:  # every message answered; every answer sent once
        asked = {f"wamid.scale.{phone}.{n}" for n in range(customers.sent[phone])}
        answered = {key.split(":")[1] for key in ledger if key.split(":")[1] in asked}
        assert answered == asked, (phone, sorted(asked - answered))
        keys = [key for key in ledger if key.split(":")[1] in asked]
        assert replies[phone] == len(keys), (phone, replies[phone], len(keys))
    expected = {p: [("reservado", 4)] * customers.confirmations(p) for p in phones}
    orders: dict[str, list[tuple[str, int]]] = {}

    async def reserved() -> bool:
        nonlocal orders
        orders = await reservations(fresh_stack, phones)
        return orders == expected

    try:
        await eventually(reserved, 60, "one reservation per \"sí\"")
    finally:
        print("reservations, \"sí\" written, per phone:",
              {p: (len(orders.get(p, [])), customers.confirmations(p)) for p in phones})
    assert sum(customers.confirmations(p) for p in phones) >= 3 * len(phones)
