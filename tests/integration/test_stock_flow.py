"""Stock alerts end to end on the real broker and PostgreSQL: CDC, one Faust worker (with the
sink agents) and the WhatsApp double.

One ERP and one worker for the module; each test works on its own test product, so the tests
do not depend on their order (the last one replays the CDC history of whatever ran before it,
phase by phase). The test products of brand 1 (buyer 1) sold 10 tires a day over the last 30
days at warehouse 1, supplier 1 (lead time 12 ± 3 days): daily demand 3.3, critical below 40 in
position, reorder point 72 (segment A/short: see the first test), order-up-to ~135. Buyer 1
wrote once (their 24-hour window is open), and the worker's attention budget has a 2 s gathering
window, no daily cap to speak of and no quiet hours, so each critical of a test is one message of
its own (`alert:<event_id>:<phone>`); tests/integration/test_buyer_attention.py tests the budget.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest
from confluent_kafka import OFFSET_END, Consumer, Producer, TopicPartition

from ops.erp.generate import generate_catalogue
from ops.erp.seed import seed_erp
from ops.stack.broker import start_broker
from ops.stack.processes import free_port, stop_pid
from ops.supervisor import Supervisor, wait_for
from ops.topics_admin import apply_catalogue
from processors.inventory.buyer_messages import NOT_A_BUYER_TEXT
from processors.inventory.demand import MEXICO_CITY
from schemas.commands import CommandEnvelope, ErpCommand
from schemas.whatsapp import InboundMessage
from sinks.erp import ErpSink
from tests import stack_fixture
from tests.integration.cdc_state import read_cdc
from tests.integration.conftest import process_env
from tests.integration.kafka_read import Record, read_all
from tests.stack_fixture import TestStack

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

BUYER_PHONE = "5218110000001"  # buyer 1 of the generated catalogue, who buys brand 1
STRANGER_PHONE = "5215550009999"
WAREHOUSE = 1
DROPPED, CRASHED, REPLAYED, APPROVED, ADJUSTED, EARLY = 9001, 9002, 9003, 9004, 9005, 9006
PRODUCTS = ", ".join(map(str, (DROPPED, CRASHED, REPLAYED, APPROVED, ADJUSTED, EARLY)))
ATTENTION = {"ATTENTION_GATHER_WINDOW_S": "2", "ATTENTION_DAILY_CAP": "1000",
             "ATTENTION_QUIET_START": "00:00", "ATTENTION_QUIET_END": "00:00",
             "ATTENTION_GOLIVE_QUIET_S": "2"}
BACKLOG = 10_000  # feed records ahead of an alert, to hold the worker's feed back
ALERTS, MESSAGES, EMAILS, COMMANDS, CONTROL = ("alerts.stock", "messages.outbound",
                                               "messages.email", "erp.commands", "alerts.control")

TEST_ROWS = f"""
INSERT INTO products (id, sku, brand_id, category_id, supplier_id, model, width, aspect_ratio,
    rim, tire_size, load_index, speed_index, cost, list_price, weight_kg, abc_class)
    SELECT g, 'MIC-TEST-' || g, 1, 1, 1, 'Primacy 4', 205, 55, 16, '205/55R16', 91, 'V',
           1000, 1500, 9, 'A'
    FROM unnest(ARRAY[{PRODUCTS}]) g;
INSERT INTO stock (product_id, warehouse_id, on_hand)
    SELECT g, {WAREHOUSE}, 500 FROM unnest(ARRAY[{PRODUCTS}]) g;
WITH days AS (SELECT p, k FROM unnest(ARRAY[{PRODUCTS}]) p,
                               generate_series(0, 29) k),
orders AS (
    INSERT INTO sales_orders (customer_id, warehouse_id, status, created_at)
    SELECT 1, {WAREHOUSE}, 'entregado', now() - make_interval(days => k, hours => 1)
    FROM days ORDER BY p, k RETURNING id),
numbered AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM orders),
products AS (SELECT p, row_number() OVER (ORDER BY p, k) AS n FROM days)
INSERT INTO sales_order_lines (order_id, product_id, qty, unit_price, unit_cost)
SELECT numbered.id, products.p, 10, 1500, 1000 FROM numbered JOIN products USING (n);
"""


@dataclass
class Flow:
    stack: TestStack
    supervisor: Supervisor
    env: dict[str, str]
    whatsapp_port: str
    marks: list[int] = field(default_factory=list)  # wall ms at the start of each live phase
    alerts_at_mark: list[set[str]] = field(default_factory=list)  # event ids present then

    def mark(self) -> None:
        """A live phase starts: remember when, and which alerts were out by then."""
        self.alerts_at_mark.append({_json(r)["event_id"] for r in self.read(ALERTS)})
        self.marks.append(int(time.time() * 1000))

    def read(self, *topics: str, idle: float = 1.0) -> list[Record]:
        return read_all(self.stack.bootstrap_servers, list(topics), idle=idle)

    def alerts(self, product_id: int) -> list[dict[str, Any]]:
        return [a for a in map(_json, self.read(ALERTS)) if a["product_id"] == product_id]

    def wait(self, topics: str | tuple[str, ...], check: Callable[[list[Record]], bool],
             what: str, timeout: float = 120) -> list[Record]:
        names = (topics,) if isinstance(topics, str) else topics
        return wait_for(lambda: (lambda recs: recs if check(recs) else None)(
            self.read(*names, idle=0.5)), timeout, what, interval=0.5)

    def whatsapp_sent(self, to: str, containing: str) -> list[dict[str, Any]]:
        """What the WhatsApp double accepted for `to` whose body mentions `containing`."""
        url = f"http://127.0.0.1:{self.whatsapp_port}/_double/messages"
        with urllib.request.urlopen(url, timeout=5) as response:
            logged = json.load(response)["messages"]
        return [m for m in logged if m["to"] == to and containing in json.dumps(m["body"])]


def decode_command(value: bytes | None) -> ErpCommand:
    """An `erp.commands` value, as the ERP sink reads it."""
    assert value is not None
    return CommandEnvelope.model_validate_json(value).command


def _json(record: Record) -> dict[str, Any]:
    assert record.value is not None
    return orjson.loads(record.value)


async def _execute(dsn: str, sql: str, *args: object) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql, *args)
    finally:
        await conn.close()


def set_stock(flow: Flow, product_id: int, on_hand: int) -> None:
    asyncio.run(_execute(flow.stack.erp_dsn,
                         "UPDATE stock SET on_hand = $3, updated_at = now() "
                         "WHERE product_id = $1 AND warehouse_id = $2",
                         product_id, WAREHOUSE, on_hand))


def sell(flow: Flow, product_id: int, qty: int) -> None:
    """One counter sale, as the ERP commits it: stock, order and line in one transaction."""
    asyncio.run(_execute(flow.stack.erp_dsn, f"""
        WITH s AS (UPDATE stock SET on_hand = on_hand - {qty}, updated_at = now()
                   WHERE product_id = $1 AND warehouse_id = $2 RETURNING 1),
             o AS (INSERT INTO sales_orders (customer_id, warehouse_id, status)
                   VALUES (1, $2, 'confirmado') RETURNING id)
        INSERT INTO sales_order_lines (order_id, product_id, qty, unit_price, unit_cost)
        SELECT o.id, $1, {qty}, 1500, 1000 FROM o, s""", product_id, WAREHOUSE))


def send_inbound(flow: Flow, topic: str, key: str, value: bytes) -> None:
    producer = Producer({"bootstrap.servers": flow.stack.bootstrap_servers,
                         "partitioner": "murmur2_random"})
    producer.produce(topic, key=key.encode(), value=value)
    assert producer.flush(10) == 0


def tap(flow: Flow, phone: str, message_id: str, button_id: str = "", text: str = "") -> None:
    """A buyer's button tap (or, with `text`, a typed answer) as the webhook enqueues it."""
    now = datetime.now(UTC)
    message = InboundMessage(message_id=message_id, from_phone=phone,
                             kind="interactive" if button_id else "text",
                             button_id=button_id or None, text=text or None, sent_at=now,
                             received_at=now)
    send_inbound(flow, "whatsapp.inbound", phone, message.model_dump_json().encode())


def reply_to(flow: Flow, message_id: str) -> dict[str, Any]:
    key = f"buyer-reply:{message_id}"
    return next(m for m in map(_json, flow.wait(MESSAGES, lambda recs: any(
        _json(r)["idempotency_key"] == key for r in recs), f"the reply to {message_id}"))
        if m["idempotency_key"] == key)


def wait_quiet(bootstrap: str, topics: list[str], timeout: float = 120) -> None:
    """Until two reads a second apart find the same number of records in `topics`."""
    counts = [-1]
    wait_for(lambda: counts.append(len(read_all(bootstrap, topics, idle=1.0)))
             or counts[-1] == counts[-2], timeout, f"{', '.join(topics)} to go quiet",
             interval=1)


def wait_settled(bootstrap: str, timeout: float = 300) -> None:
    """Until the worker evaluated its snapshot inputs and the alerts stopped coming."""
    wait_for(lambda: any(_json(r)["kind"] == "settle"
                         for r in read_all(bootstrap, [CONTROL], idle=0.5)),
             timeout, "the settle ticks after the snapshot", interval=2)
    wait_quiet(bootstrap, [ALERTS])


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flow]:
    with stack_fixture.test_stack() as stack:
        catalogue = generate_catalogue(seed=5, n_products=60, n_customers=20, days=30)
        asyncio.run(seed_erp(stack.erp_dsn, catalogue=catalogue))
        asyncio.run(_execute(stack.erp_dsn, TEST_ROWS))
        apply_catalogue(stack.settings())
        whatsapp = str(free_port())
        env = process_env(stack, WHATSAPP_BASE_URL=f"http://127.0.0.1:{whatsapp}", **ATTENTION)
        with Supervisor({}, tmp_path_factory.mktemp("stock-flow-logs")) as supervisor:
            supervisor.start("whatsapp", "-m", "ops.doubles.whatsapp_double", "--port",
                             whatsapp, env=env)
            supervisor.start("cdc", "cdc", "run", env=env)
            supervisor.start("worker", "worker", env=env)
            wait_settled(stack.bootstrap_servers)
            flow = Flow(stack, supervisor, env, whatsapp)
            buyer_writes(flow, "wamid.hello")
            yield flow


def buyer_writes(flow: Flow, message_id: str) -> None:
    """Buyer 1 writes (the 24-hour window opens, at the double too); the worker answered."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{flow.whatsapp_port}/_double/inbound", method="POST",
        data=json.dumps({"phone": BUYER_PHONE, "text": "hola"}).encode(),
        headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=5).close()
    tap(flow, BUYER_PHONE, message_id, text="hola")
    reply_to(flow, message_id)


def critical_alert(flow: Flow, product_id: int) -> dict[str, Any]:
    """The product's open critical alert: its stock dropped to 30 first when it has none."""
    def found() -> dict[str, Any] | None:
        alerts = flow.alerts(product_id)
        last = alerts[-1] if alerts else None
        return last if last and last["level"] == "critico" and not last["resolved"] else None

    if found() is None:
        set_stock(flow, product_id, 30)
    return wait_for(found, 120, f"a critical alert of {product_id}", interval=0.5)


def test_a_drop_alerts_once_more_sales_do_not_and_a_receipt_resolves(flow: Flow) -> None:
    assert flow.alerts(DROPPED) == []  # 500 on hand: ~150 days of cover, no alert
    flow.mark()
    set_stock(flow, DROPPED, 30)  # below d̄·L = 40: stockout before a new order arrives
    flow.wait(ALERTS, lambda recs: any(_json(r)["product_id"] == DROPPED for r in recs),
              "the alert of the drop")
    (alert,) = flow.alerts(DROPPED)
    assert alert["event_id"] == alert["alert_id"] == f"stk-{DROPPED}-{WAREHOUSE}-1-critico"
    assert (alert["level"], alert["available"], alert["position"]) == ("critico", 30, 30)
    # Segment A/short: 300 units × 500 MXN of margin ranks the pair among the top tenth of the
    # seeded pairs' margins (A), and 30 days of history is under the 35 a pattern needs
    # ("short", the sporadic group): service level "A/sporadic" = 0.95, z = 1.645. Over the
    # 90-day window d̄ = 300/90 = 3.33, σd² = (30·10² − 90·3.33²)/89 = 22.5; L = 12, σL = 3:
    # σ = √(12·22.5 + 3.33²·9) = 19.2, ROP = ⌈40 + 1.645·19.2⌉ = 72. A/regular (0.98) would
    # give 80 and C/sporadic (0.80) 57: the bounds admit only this segment's level.
    assert alert["segment"] == "A/short"
    assert 70 <= alert["reorder_point"] <= 74 and alert["proposed_qty"] % 4 == 0
    key = f"alert:{alert['event_id']}:{BUYER_PHONE}"
    message = next(m for m in map(_json, flow.wait(
        MESSAGES, lambda recs: any(_json(r)["idempotency_key"] == key for r in recs),
        "the critical alert's WhatsApp")) if m["idempotency_key"] == key)
    assert message["to"] == BUYER_PHONE and message["context"]["alert_id"] == alert["alert_id"]
    assert [b["title"] for b in message["buttons"]] == ["Aprobar", "Posponer", "Ajustar"]

    flow.mark()
    sell(flow, DROPPED, 2)  # same state: still critical
    sell(flow, DROPPED, 2)
    time.sleep(8)
    assert len(flow.alerts(DROPPED)) == 1

    flow.mark()
    set_stock(flow, DROPPED, 426)  # a receipt of 400
    flow.wait(ALERTS, lambda recs: any(_json(r)["resolved"] for r in recs
                                       if _json(r)["product_id"] == DROPPED),
              "the resolution")
    first, resolved = flow.alerts(DROPPED)
    assert resolved["event_id"] == f"{first['alert_id']}-resuelta"
    assert resolved["alert_id"] == first["alert_id"] and resolved["position"] == 426


def test_approve_twice_creates_one_purchase_order_which_resolves_the_alert(flow: Flow) -> None:
    flow.mark()
    assert flow.alerts(APPROVED) == []
    set_stock(flow, APPROVED, 30)
    flow.wait(ALERTS, lambda recs: any(_json(r)["product_id"] == APPROVED for r in recs),
              "the alert")
    alert = flow.alerts(APPROVED)[-1]
    assert alert["alert_id"] == f"stk-{APPROVED}-{WAREHOUSE}-1-critico"
    flow.wait(MESSAGES, lambda recs: any(_json(r)["idempotency_key"].startswith(
        f"alert:{alert['event_id']}") for r in recs), "the second alert's WhatsApp")

    flow.mark()  # the purchase order the taps create is this phase's change
    button = f"approve:{alert['alert_id']}"
    tap(flow, BUYER_PHONE, "wamid.approve-1", button)
    tap(flow, BUYER_PHONE, "wamid.approve-2", button)
    replies = {m["idempotency_key"]: m for m in map(_json, flow.wait(
        MESSAGES, lambda recs: sum(_json(r)["idempotency_key"].startswith(
            "buyer-reply:wamid.approve") for r in recs) >= 2, "both replies"))}
    assert replies["buyer-reply:wamid.approve-1"]["text"].startswith("✅ Agregué")
    assert "No encontré una propuesta pendiente" in replies["buyer-reply:wamid.approve-2"]["text"]

    commands = flow.read(COMMANDS)
    assert {decode_command(r.value).idempotency_key for r in commands} == {
        f"pol:{alert['alert_id']}"}
    command = decode_command(commands[0].value)
    assert command.line.qty == alert["proposed_qty"] and command.supplier_id == 1

    async def purchase_orders() -> int:  # the line in the day's draft order of supplier 1
        conn = await asyncpg.connect(flow.stack.erp_dsn)
        try:
            return await conn.fetchval(
                "SELECT count(*) FROM purchase_orders po JOIN purchase_order_lines l "
                "ON l.po_id = po.id WHERE po.idempotency_key = $1 AND l.product_id = $2",
                command.order_key, APPROVED)
        finally:
            await conn.close()

    async def apply_again() -> set[str]:  # a redelivery straight into the ERP sink
        async with ErpSink(flow.stack.sink_dsn) as sink:
            results = await sink.apply_batch([decode_command(r.value) for r in commands])
        return {r.status for r in results}

    wait_for(lambda: asyncio.run(purchase_orders()), 60, "the worker's ERP sink")
    assert asyncio.run(apply_again()) == {"duplicate"}
    assert asyncio.run(purchase_orders()) == 1
    flow.wait(ALERTS, lambda recs: any(_json(r)["event_id"] == f"{alert['alert_id']}-resuelta"
                                       for r in recs), "the alert to resolve by itself")
    resolved = flow.alerts(APPROVED)[-1]
    assert resolved["on_order"] == alert["proposed_qty"] and resolved["available"] == 30


def test_a_phone_that_is_not_a_buyer_gets_a_refusal_and_nothing_is_written(flow: Flow) -> None:
    before = len(flow.read(COMMANDS))
    alert_id = f"stk-{DROPPED}-{WAREHOUSE}-1-critico"  # whether it exists or not: refused
    tap(flow, STRANGER_PHONE, "wamid.stranger-1", f"approve:{alert_id}")
    key = "buyer-reply:wamid.stranger-1"  # (the sales agent may answer the stranger too)
    (reply,) = [m for m in map(_json, flow.wait(MESSAGES, lambda recs: any(
        _json(r)["idempotency_key"] == key for r in recs), "the refusal"))
        if m["idempotency_key"] == key]
    assert reply["text"] == NOT_A_BUYER_TEXT and reply["to"] == STRANGER_PHONE
    time.sleep(3)
    assert len(flow.read(COMMANDS)) == before


def test_a_worker_killed_between_alert_and_message_sends_the_same_key(flow: Flow) -> None:
    flow.mark()
    watch = Consumer({"bootstrap.servers": flow.stack.bootstrap_servers, "group.id": "kill",
                      "enable.auto.commit": False, "fetch.wait.max.ms": 5})
    try:
        partitions = watch.list_topics(ALERTS, timeout=10).topics[ALERTS].partitions
        watch.assign([TopicPartition(ALERTS, p, OFFSET_END) for p in partitions])
        watch.consume(100, timeout=1.0)
        set_stock(flow, CRASHED, 30)
        wait_for(lambda: any(not m.error() and m.value() and
                             orjson.loads(m.value())["product_id"] == CRASHED
                             for m in watch.consume(100, timeout=0.01)),
                 120, "the alert", interval=0)
        flow.supervisor.kill("worker")  # SIGKILL as soon as the alert is on the topic
    finally:
        watch.close()
    (alert,) = flow.alerts(CRASHED)
    key = f"alert:{alert['event_id']}:{BUYER_PHONE}"

    def messages() -> list[dict[str, Any]]:
        return [m for m in map(_json, flow.read(MESSAGES))
                if m["context"].get("alert_id") == alert["alert_id"]]

    print(f"records of the alert's message when the worker died: {len(messages())}")
    flow.supervisor.start("worker", "worker", env=flow.env)
    tap(flow, STRANGER_PHONE, "wamid.after-restart", f"approve:{alert['alert_id']}")
    flow.wait(MESSAGES, lambda recs: any(_json(r)["idempotency_key"] ==
                                         "buyer-reply:wamid.after-restart" for r in recs),
              "the restarted worker to process new input", timeout=180)
    sku = f"MIC-TEST-{CRASHED}"
    wait_for(lambda: flow.whatsapp_sent(BUYER_PHONE, sku), 60, "the WhatsApp send")
    time.sleep(3)
    sent = messages()
    assert sent and {m["idempotency_key"] for m in sent} == {key}, sent
    assert {a["event_id"] for a in flow.alerts(CRASHED)} == {alert["event_id"]}
    assert len(flow.whatsapp_sent(BUYER_PHONE, sku)) == 1  # the sink deduped any repeat


def test_the_record_that_caused_an_alert_publishes_it_again_when_read_again(flow: Flow) -> None:
    """Alerts are published without waiting for the broker, so a crash may leave the state that
    remembers an alert in its changelog while the alert itself is lost; the offset of the record
    that caused it is then not committed yet and that record is read again. Here it is read
    again on purpose (the group's offset moved back to it): the same alert comes out again."""
    flow.mark()
    set_stock(flow, REPLAYED, 30)
    flow.wait(ALERTS, lambda recs: any(_json(r)["product_id"] == REPLAYED for r in recs),
              "the alert")
    (alert,) = flow.alerts(REPLAYED)
    stock_topic = "erp.public.stock"
    (cause,) = [r for r in flow.read(stock_topic) if r.value and
                (_json(r).get("after") or {}).get("product_id") == REPLAYED and
                _json(r)["after"]["on_hand"] == 30]
    time.sleep(3)  # the worker commits past the cause
    flow.supervisor.kill("worker")
    time.sleep(10)  # the dead member leaves the group (session timeout 6 s)
    group = Consumer({"bootstrap.servers": flow.stack.bootstrap_servers, "group.id": "topllantas",
                      "enable.auto.commit": False, "auto.offset.reset": "latest"})
    try:  # a member of the worker's group (the broker takes commits from members only)
        group.subscribe([stock_topic])
        wait_for(lambda: group.poll(0.5) is not None or bool(group.assignment()), 60,
                 "the group assignment", interval=0)
        group.commit(offsets=[TopicPartition(stock_topic, cause.partition, cause.offset)],
                     asynchronous=False)
    finally:
        group.close()
    flow.supervisor.start("worker", "worker", env=flow.env)
    try:
        flow.wait(ALERTS, lambda recs: sum(_json(r)["event_id"] == alert["event_id"]
                                           for r in recs if r.value) >= 2,
                  "the alert published again", timeout=180)
    except TimeoutError as exc:  # say what the worker did instead
        probe = Consumer({"bootstrap.servers": flow.stack.bootstrap_servers,
                          "group.id": "topllantas"})
        try:
            (committed,) = probe.committed([TopicPartition(stock_topic, cause.partition)], 10)
        finally:
            probe.close()
        raise AssertionError(
            f"cause {cause.topic}/{cause.partition}@{cause.offset}, group offset now "
            f"{committed.offset}; alerts of the product: "
            f"{[(a['event_id'], a['at']) for a in flow.alerts(REPLAYED)]}; worker log tail:\n"
            f"{flow.supervisor.log('worker')[-3000:]}") from exc
    time.sleep(3)
    assert {a["event_id"] for a in flow.alerts(REPLAYED)} == {alert["event_id"]}  # no new one
    wait_for(lambda: flow.whatsapp_sent(BUYER_PHONE, f"MIC-TEST-{REPLAYED}"), 60, "the send")
    assert len(flow.whatsapp_sent(BUYER_PHONE, f"MIC-TEST-{REPLAYED}")) == 1  # sink deduped


def test_adjust_snooze_and_the_morning_digest(flow: Flow) -> None:
    flow.mark()
    critical = critical_alert(flow, ADJUSTED)  # the adjusted purchase order is this phase's change
    tap(flow, BUYER_PHONE, "wamid.adjust-1", f"adjust:{critical['alert_id']}")
    assert reply_to(flow, "wamid.adjust-1")["text"].startswith("¿Cuántas piezas de MIC-TEST-")
    tap(flow, BUYER_PHONE, "wamid.adjust-2", text="pide 22")
    reply = reply_to(flow, "wamid.adjust-2")["text"]
    assert "24 pzas" in reply and "pediste 22; redondeé a 24" in reply  # packs of 4
    (command,) = [decode_command(r.value) for r in flow.read(COMMANDS)
                  if decode_command(r.value).idempotency_key == f"pol:{critical['alert_id']}"]
    assert command.line.qty == 24
    # On order 24 + 30 available = 54: no longer critical, at or below the reorder point.
    flow.wait(ALERTS, lambda recs: any(_json(r)["product_id"] == ADJUSTED
                                       and _json(r)["level"] == "alto" for r in recs),
              "the alert to ease to alto")
    high = flow.alerts(ADJUSTED)[-1]
    assert (high["previous_level"], high["position"]) == ("critico", 54)

    tap(flow, BUYER_PHONE, "wamid.snooze-1", f"snooze:{high['alert_id']}")
    assert reply_to(flow, "wamid.snooze-1")["text"].startswith("⏸️ Pospuesta la alerta")
    snoozes = [_json(r) for r in flow.read(CONTROL) if _json(r)["kind"] == "snooze"]
    assert [c["alert_id"] for c in snoozes] == [high["alert_id"]]

    now = datetime.now(UTC)
    # The 07:00 crontab's turn for this buyer (streams.stock_alerts.BuyerFeed).
    send_inbound(flow, "alerts.by_buyer", BUYER_PHONE,
                 orjson.dumps({"kind": "digest", "at": now.isoformat()}))
    day = now.astimezone(MEXICO_CITY).date().isoformat()
    digests = [r for r in flow.wait((MESSAGES, EMAILS), lambda recs: sum(
        _json(r)["idempotency_key"].startswith(f"digest:1:{day}") for r in recs) == 2,
        "the morning digest") if _json(r)["idempotency_key"].startswith(f"digest:1:{day}")]
    digest = {_json(r)["channel"]: _json(r) for r in digests}
    assert {r.topic for r in digests} == {MESSAGES, EMAILS}  # each channel on its own topic
    assert digest["whatsapp"]["to"] == BUYER_PHONE
    assert digest["email"]["to"] == "mariana.trevino@topllantas.mx"
    assert f"MIC-TEST-{ADJUSTED}" in digest["email"]["html"]  # the open (snoozed) alto alert
    assert "Resumen de inventario" in digest["email"]["subject"]


def _alert_behind_a_backlog(flow: Flow, n: int) -> dict[str, Any]:
    """A new critical alert of EARLY in the buyer's feed, behind BACKLOG feed records."""
    template = next((a for a in flow.alerts(EARLY) if a["level"] == "critico"), None) or (
        critical_alert(flow, EARLY))  # a critical alert as the stock worker wrote it
    alert = {**template, "event_id": f"stk-{EARLY}-{WAREHOUSE}-{n}-critico",
             "alert_id": f"stk-{EARLY}-{WAREHOUSE}-{n}-critico",
             "at": datetime.now(UTC).isoformat()}
    backlog = [{"kind": "alert", "at": alert["at"],
                "alert": {**template, "product_id": 8_000_000 + i, "resolved": True}}
               for i in range(BACKLOG)]  # resolutions of alerts the buyer never had: no-ops
    producer = Producer({"bootstrap.servers": flow.stack.bootstrap_servers,
                         "partitioner": "murmur2_random", "linger.ms": 50})
    for feed in [*backlog, {"kind": "alert", "at": alert["at"], "alert": alert}]:
        producer.produce("alerts.by_buyer", key=BUYER_PHONE.encode(), value=orjson.dumps(feed))
    assert producer.flush(30) == 0
    return alert


def _retried(flow: Flow) -> list[str]:
    return [_json(r)["message"]["message_id"] for r in flow.read("alerts.by_buyer")
            if _json(r)["kind"] == "retry"]


def _po_quantities(flow: Flow, alert: dict[str, Any]) -> list[int]:
    return [decode_command(r.value).line.qty for r in flow.read(COMMANDS)
            if decode_command(r.value).idempotency_key == f"pol:{alert['alert_id']}"]


def test_a_tap_read_before_its_alert_waits_for_the_buyer_feed(flow: Flow) -> None:
    """The worker reads the buyer's feed and messages with no order between them: with the
    feed far behind (a backlog written before the alert), the tap on the alert is read first.
    It goes back onto the feed, behind the alert, and is approved there, not refused."""
    flow.mark()  # the purchase order the tap creates is this phase's change
    alert = _alert_behind_a_backlog(flow, 99)
    tap(flow, BUYER_PHONE, "wamid.early-1", f"approve:{alert['alert_id']}")

    answer = reply_to(flow, "wamid.early-1")
    reply = answer["text"]
    assert reply.startswith("✅ Agregué"), reply
    assert answer["reply_to"] == "wamid.early-1"  # WhatsApp shows the tap quoted
    assert "wamid.early-1" in _retried(flow), (
        "the tap was read after the alert: the backlog did not hold the feed back")
    assert _po_quantities(flow, alert) == [alert["proposed_qty"]]


def test_a_quantity_typed_after_an_adjust_that_waits_is_read_after_it(flow: Flow) -> None:
    """`Ajustar` on an alert the worker has not read waits on the feed; the quantity the buyer
    types right after follows it there instead of being read first (and answered with help)."""
    flow.mark()  # the adjusted purchase order is this phase's change
    alert = _alert_behind_a_backlog(flow, 98)
    tap(flow, BUYER_PHONE, "wamid.early-adjust-1", f"adjust:{alert['alert_id']}")
    tap(flow, BUYER_PHONE, "wamid.early-adjust-2", text="pide 22")

    assert reply_to(flow, "wamid.early-adjust-1")["text"].startswith("¿Cuántas piezas de ")
    reply = reply_to(flow, "wamid.early-adjust-2")["text"]
    assert "pediste 22; redondeé a 24" in reply, reply
    assert _retried(flow)[-2:] == ["wamid.early-adjust-1", "wamid.early-adjust-2"]
    assert _po_quantities(flow, alert) == [24]


def test_replaying_the_cdc_history_gives_the_same_alerts(flow: Flow, tmp_path: Path) -> None:
    """The CDC records of this module, phase by phase, into a new broker and a new worker."""
    flow.mark()  # the end of the last phase
    flow.supervisor.stop("worker")
    flow.supervisor.stop("cdc")
    history = read_cdc(flow.stack.bootstrap_servers)
    originals = {a["event_id"]: a for a in map(_json, flow.read(ALERTS))}
    sent_to_buyer = len(flow.whatsapp_sent(BUYER_PHONE, "MIC-TEST-"))
    pid, port = start_broker(0, tmp_path / "replay-broker.log")
    try:
        replay = f"127.0.0.1:{port}"
        apply_catalogue(flow.stack.settings(KAFKA_BOOTSTRAP_SERVERS=replay))
        env = {**flow.env, "KAFKA_BOOTSTRAP_SERVERS": replay, "FAUST_WEB_PORT": str(free_port())}
        flow.supervisor.start("replay", "worker", env=env)
        replayed: dict[str, dict[str, Any]] = {}

        def caught_up(expected: set[str]) -> bool:
            replayed.update({a["event_id"]: a for a in map(_json, read_all(
                replay, [ALERTS], idle=0.5))})
            return expected <= replayed.keys()

        previous: set[str] = set()
        for n, (records, out_by_then) in enumerate(zip(_stages(history, flow.marks),
                                                       flow.alerts_at_mark, strict=True)):
            _produce(replay, records)
            if n == 0:
                wait_settled(replay)
            expected = out_by_then - previous
            try:
                wait_for(lambda e=expected: caught_up(e), 120, f"the alerts of phase {n}",
                         interval=1)
            except TimeoutError as exc:
                raise AssertionError(_missing(expected, replayed, flow.supervisor.log("replay"))
                                     ) from exc
            wait_quiet(replay, ["inventory.position", "demand.daily", ALERTS])
            previous = out_by_then
        time.sleep(3)
        caught_up(set())
        assert replayed.keys() == originals.keys()
        # The transfer option reads other branches' surplus from a GlobalTable fed by other
        # partitions: a replay can see a donor's level sooner or later than the live run did,
        # so only the alert's own decision must be identical; its transfer only well-formed.
        differing = {k: {f: (v, replayed[k][f]) for f, v in a.items()
                         if f != "transfer" and replayed[k][f] != v}
                     for k, a in originals.items()}
        assert not {k: d for k, d in differing.items() if d}  # same ids, levels, qty, times
        for alert in replayed.values():
            if (transfer := alert.get("transfer")) is not None:
                assert transfer["from_warehouse_id"] != alert["warehouse_id"]
                assert 0 < transfer["qty"] <= transfer["donor_surplus"]
        # The replay's buyer never wrote (the 24-hour window is not in the CDC history): its
        # criticals wait behind an opener template; no product reaches the buyer again.
        time.sleep(3)
        assert len(flow.whatsapp_sent(BUYER_PHONE, "MIC-TEST-")) == sent_to_buyer
    finally:
        flow.supervisor.stop("replay")
        stop_pid(pid, 10)


def _missing(expected: set[str], replayed: dict[str, dict[str, Any]], log: str) -> str:
    """What the replay did instead, for the failure message: per missing alert, the replay's
    alerts of that product×warehouse, and the worker's warnings."""
    lines = []
    for event_id in sorted(expected - replayed.keys()):
        prefix = "-".join(event_id.split("-")[:3]) + "-"  # stk-<product>-<warehouse>-
        instead = sorted(k for k in replayed if k.startswith(prefix))
        lines.append(f"{event_id} missing; the replay has {instead}")
    warnings = [line for line in log.splitlines()
                if ("[WARNING]" in line or "[ERROR]" in line) and "buffer full" not in line]
    return "\n".join([*lines, "replay worker's warnings:", *warnings[-20:]])


def _stages(history: list[Record], marks: list[int]) -> list[list[Record]]:
    """The snapshot, then the changes committed in each live phase (between two marks)."""
    stages: list[list[Record]] = [[] for _ in marks]
    stage = 0
    for record in history:
        if record.value is not None:  # a tombstone follows its delete
            source = _json(record)["source"]
            stage = 0 if source["snapshot"] != "false" else sum(
                1 for m in marks if m <= source["ts_ms"])
        stages[stage].append(record)
    return stages


def _produce(bootstrap: str, records: list[Record]) -> None:
    """The records into the same partitions, in the same order."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for record in records:
        producer.produce(record.topic, key=record.key, value=record.value,
                         partition=record.partition)
    assert producer.flush(30) == 0
