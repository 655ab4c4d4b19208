"""The buyer's attention budget end to end on the real broker, PostgreSQL, CDC and one worker,
with the WhatsApp double enforcing Meta's pair rate (its default) and the 24-hour window.

One ERP and one worker for the module; each test works on its own buyer (or its own products),
so the tests do not depend on their order. The worker (`--flows stock,sinks`) runs with a 10 s
gathering window, a daily cap of 3 WhatsApp messages and no quiet hours (the budget's rules are
the unit tests'; here the wiring: state in the tables, ticks, sinks, the double). "Nothing more
came" is checked after later steps, once at least a clock tick has passed, not after a sleep of
its own; the worker is SIGKILLed at the end (its graceful stop is not tested here).
"""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
import pytest
from confluent_kafka import Producer

from ops.erp.generate import generate_catalogue
from ops.erp.seed import seed_erp
from ops.stack.processes import free_port
from ops.supervisor import Supervisor, wait_for
from ops.topics_admin import apply_catalogue
from schemas.whatsapp import InboundMessage
from tests import stack_fixture
from tests.integration.conftest import process_env
from tests.integration.kafka_read import Record, read_all
from tests.stack_fixture import TestStack

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

BUYERS = {1: "5218110000001", 2: "5218110000002", 3: "5213310000003"}  # brand n -> buyer n
DROPS = list(range(9101, 9151))  # 50 class-A products of brand 1 (buyer 1)
PAST_CAP = 9151  # one more of brand 1
SPORADIC = 9201  # a class-C product of brand 2 (buyer 2) sold on a few days
KILLED = list(range(9301, 9305))  # class-A products of brand 3 (buyer 3)
WAREHOUSE = 1
ALERTS, MESSAGES, EMAILS, FEED = ("alerts.stock", "messages.outbound", "messages.email",
                                  "alerts.by_buyer")
ENV = {"ATTENTION_GATHER_WINDOW_S": "10", "ATTENTION_DAILY_CAP": "3",
       "ATTENTION_QUIET_START": "00:00", "ATTENTION_QUIET_END": "00:00",
       "ATTENTION_GOLIVE_QUIET_S": "2"}
WORKER = ("worker", "--flows", "stock,sinks")  # the buyer loop and the sinks: nothing else
TICK_S = 5.0  # the attention clock's interval (streams/buyer_attention.py)


def _steady(products: list[int], brand: int) -> str:
    """Products selling 10 a day for 30 days, 500 on hand (no alert until a drop): one order a
    day with a line per product (half the CDC events of an order per line, for the worker to
    read before the first evaluation)."""
    ids = ",".join(map(str, products))
    return f"""
INSERT INTO products (id, sku, brand_id, category_id, supplier_id, model, width, aspect_ratio,
    rim, tire_size, load_index, speed_index, cost, list_price, weight_kg, abc_class)
    SELECT g, 'ATT-' || g, {brand}, 1, 1, 'Primacy 4', 205, 55, 16, '205/55R16', 91, 'V',
           1000, 1500, 9, 'A' FROM unnest(ARRAY[{ids}]) g;
INSERT INTO stock (product_id, warehouse_id, on_hand)
    SELECT g, {WAREHOUSE}, 500 FROM unnest(ARRAY[{ids}]) g;
WITH orders AS (
    INSERT INTO sales_orders (customer_id, warehouse_id, status, created_at)
    SELECT 1, {WAREHOUSE}, 'entregado', now() - make_interval(days => k, hours => 1)
    FROM generate_series(0, 29) k RETURNING id)
INSERT INTO sales_order_lines (order_id, product_id, qty, unit_price, unit_cost)
SELECT orders.id, p, 10, 1500, 1000 FROM orders, unnest(ARRAY[{ids}]) p;
"""


SPORADIC_ROWS = f"""
INSERT INTO products (id, sku, brand_id, category_id, supplier_id, model, width, aspect_ratio,
    rim, tire_size, load_index, speed_index, cost, list_price, weight_kg, abc_class)
    VALUES ({SPORADIC}, 'ATT-{SPORADIC}', 2, 1, 1, 'Raro', 175, 70, 13, '175/70R13', 82, 'T',
            600, 800, 7, 'C');
INSERT INTO stock (product_id, warehouse_id, on_hand) VALUES ({SPORADIC}, {WAREHOUSE}, 3);
WITH orders AS (
    INSERT INTO sales_orders (customer_id, warehouse_id, status, created_at)
    SELECT 1, {WAREHOUSE}, 'entregado', now() - make_interval(days => k, hours => 1)
    FROM unnest(ARRAY[3, 17, 29, 44, 58, 71]) k RETURNING id)
INSERT INTO sales_order_lines (order_id, product_id, qty, unit_price, unit_cost)
SELECT id, {SPORADIC}, 1, 800, 600 FROM orders;
"""


@dataclass
class Stack:
    stack: TestStack
    supervisor: Supervisor
    env: dict[str, str]
    whatsapp_port: str
    golive_seen: float = 0.0
    """time.monotonic() when the fixture saw the three go-live summaries."""

    def read(self, *topics: str) -> list[Record]:
        return read_all(self.stack.bootstrap_servers, list(topics), idle=0.5)

    def messages(self, topic: str, to: str) -> list[dict[str, Any]]:
        return [m for m in map(_json, self.read(topic)) if m["to"] == to]

    def double(self) -> list[dict[str, Any]]:
        url = f"http://127.0.0.1:{self.whatsapp_port}/_double/messages"
        with urllib.request.urlopen(url, timeout=5) as response:
            return list(json.load(response)["messages"])

    def execute(self, sql: str) -> None:
        async def run() -> None:
            conn = await asyncpg.connect(self.stack.erp_dsn)
            try:
                await conn.execute(sql)
            finally:
                await conn.close()
        asyncio.run(run())

    def drop(self, products: list[int]) -> None:
        """Stock of the products to 5 in one ERP transaction (critical: below d̄·L = 40)."""
        self.execute(f"UPDATE stock SET on_hand = 5, updated_at = now() WHERE warehouse_id = "
                     f"{WAREHOUSE} AND product_id = ANY(ARRAY[{','.join(map(str, products))}])")

    def produce(self, topic: str, key: str, value: bytes) -> None:
        producer = Producer({"bootstrap.servers": self.stack.bootstrap_servers,
                             "partitioner": "murmur2_random"})
        producer.produce(topic, key=key.encode(), value=value)
        assert producer.flush(10) == 0

    def buyer_writes(self, phone: str, message_id: str) -> None:
        """The buyer writes (their 24-hour window opens, at the double too), and the worker
        has read it (it answered)."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.whatsapp_port}/_double/inbound", method="POST",
            data=json.dumps({"phone": phone, "text": "hola"}).encode(),
            headers={"Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=5).close()
        now = datetime.now(UTC)
        message = InboundMessage(message_id=message_id, from_phone=phone, kind="text",
                                 text="hola", sent_at=now, received_at=now)
        self.produce("whatsapp.inbound", phone, message.model_dump_json().encode())
        wait_for(lambda: any(m["idempotency_key"] == f"buyer-reply:{message_id}"
                             for m in self.messages(MESSAGES, phone)), 60, "the buyer's reply")

    def tap(self, phone: str, message_id: str, row_id: str) -> dict[str, Any]:
        """The buyer picks a list row (a `list_reply`, as the webhook enqueues it); the reply."""
        now = datetime.now(UTC)
        message = InboundMessage(message_id=message_id, from_phone=phone, kind="interactive",
                                 button_id=row_id, text=row_id, sent_at=now, received_at=now)
        self.produce("whatsapp.inbound", phone, message.model_dump_json().encode())
        key = f"buyer-reply:{message_id}"
        return wait_for(lambda: next((m for m in self.messages(MESSAGES, phone)
                                      if m["idempotency_key"] == key), None), 60, "the reply")

    def alert_ids(self, products: list[int]) -> dict[int, str]:
        """product -> its open critical alert id, once every product has one."""
        def found() -> dict[int, str] | None:
            ids = {a["product_id"]: a["alert_id"] for a in map(_json, self.read(ALERTS))
                   if a["product_id"] in products and a["level"] == "critico"
                   and not a["resolved"]}
            return ids if len(ids) == len(products) else None
        return wait_for(found, 90, "the critical alerts", interval=0.5)


def _json(record: Record) -> dict[str, Any]:
    assert record.value is not None
    return orjson.loads(record.value)


def _csv_rows(email: dict[str, Any]) -> list[dict[str, str]]:
    """The rows of a go-live e-mail's one CSV attachment."""
    (attachment,) = email["attachments"]
    text = base64.b64decode(attachment["content_b64"]).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def _alert_ids_of(message: dict[str, Any]) -> set[str]:
    context = message["context"]
    if context.get("kind") == "stock_alert":
        return {context["alert_id"]}
    if context.get("kind") == "stock_alert_list":
        return set(context["alert_ids"].split(","))
    return set()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with stack_fixture.test_stack() as stack:
        catalogue = generate_catalogue(seed=5, n_products=10, n_customers=10, days=7)
        asyncio.run(seed_erp(stack.erp_dsn, catalogue=catalogue))
        apply_catalogue(stack.settings())
        whatsapp = str(free_port())
        env = process_env(stack, WHATSAPP_BASE_URL=f"http://127.0.0.1:{whatsapp}", **ENV)
        with Supervisor({}, tmp_path_factory.mktemp("attention-logs")) as supervisor:
            live = Stack(stack, supervisor, env, whatsapp)
            live.execute(_steady([*DROPS, PAST_CAP], 1) + _steady(KILLED, 3) + SPORADIC_ROWS)
            supervisor.start("whatsapp", "-m", "ops.doubles.whatsapp_double", "--port",
                             whatsapp, env=env)
            supervisor.start("cdc", "cdc", "run", env=env)
            supervisor.start("worker", *WORKER, env=env)
            wait_for(lambda: len({m["to"] for m in map(_json, live.read(MESSAGES))
                                  if m["context"].get("kind") == "stock_golive"}) == 3,
                     240, "the go-live summaries", interval=0.5)
            live.golive_seen = time.monotonic()
            yield live
            supervisor.kill("worker")  # its graceful stop (~15 s) is not what this module tests


def test_go_live_is_one_summary_per_buyer_and_an_email_with_the_list(live: Stack) -> None:
    emails = [m for m in map(_json, live.read(EMAILS)) if m["context"].get("kind") ==
              "stock_golive"]
    assert len(emails) == 3
    alerts = {a["alert_id"]: a for a in map(_json, live.read(ALERTS)) if not a["resolved"]}
    listed = 0
    for email in emails:
        rows = _csv_rows(email)
        assert rows and rows[0]["nivel"]
        listed += len(rows)
    assert listed == len(alerts)  # every open alert in exactly one buyer's list
    accepted = [m for m in live.double() if m["type"] == "template"
                and m["body"]["template"]["name"] == "inicio_inventario"]
    assert sorted(m["to"] for m in accepted) == sorted(BUYERS.values())  # window shut: template
    time.sleep(max(0.0, live.golive_seen + 3 - time.monotonic()))  # more would have come by now
    outbound = list(map(_json, live.read(MESSAGES)))
    whatsapp = [m for m in outbound if m["context"].get("kind") == "stock_golive"]
    assert sorted(m["to"] for m in whatsapp) == sorted(BUYERS.values())  # one each
    surfaced = {i for m in outbound for i in _alert_ids_of(m)}
    tests = {*DROPS, PAST_CAP, SPORADIC, *KILLED}
    assert all(int(i.split("-")[1]) in tests for i in surfaced)  # no seeded alert on its own
    summary = next(m for m in whatsapp if m["to"] == BUYERS[1])
    assert "Ya vigilo el inventario" in summary["text"]


def test_fifty_drops_are_one_message_and_one_list_then_the_cap_sends_email(live: Stack
                                                                          ) -> None:
    phone = BUYERS[1]
    live.buyer_writes(phone, "wamid.att-hello-1")
    before = {m["idempotency_key"] for m in live.messages(MESSAGES, phone)}
    live.drop(DROPS)
    ids = live.alert_ids(DROPS)

    def alert_messages() -> list[dict[str, Any]]:
        return [m for m in live.messages(MESSAGES, phone)  # the taps' replies aside
                if m["idempotency_key"] not in before and _alert_ids_of(m)
                and not m["idempotency_key"].startswith("buyer-reply:")]

    single = wait_for(lambda: alert_messages() or None, 30, "the first critical")
    assert len(single) == 1 and single[0]["context"]["kind"] == "stock_alert"
    sent = wait_for(lambda: (lambda ms: ms if len(ms) >= 2 else None)(alert_messages()),
                    40, "the gathered list")
    assert [m["context"]["kind"] for m in sent] == ["stock_alert", "stock_alert_list"]
    first, rest = _alert_ids_of(sent[0]), _alert_ids_of(sent[1])
    assert not first & rest and first | rest == set(ids.values())  # each item exactly once
    rows = [r for s in sent[1]["interactive_list"]["sections"] for r in s["rows"]]
    assert len(rows) == 10 and rows[-1]["id"].startswith("more:")
    bodies = [m for m in live.double() if m["to"] == phone and m["type"] == "interactive"]
    assert any(m["body"]["interactive"]["type"] == "list" for m in bodies)  # the double took it

    # go-live + the message + the list = the cap of 3: the next critical goes by e-mail
    live.drop([PAST_CAP])
    (past,) = live.alert_ids([PAST_CAP]).values()
    email = wait_for(lambda: [m for m in live.messages(EMAILS, "mariana.trevino@topllantas.mx")
                              if m["context"].get("kind") == "stock_alert_email"] or None,
                     30, "the e-mail past the cap")
    assert f"ATT-{PAST_CAP}" in email[0]["text"]
    emailed = time.monotonic()
    digest = _digest(live, phone)
    assert f"ATT-{PAST_CAP}" in digest["email"]["html"]

    # the list's rows: «Ver N más» pages on, «Todo <proveedor>» approves the supplier's items
    list_key = sent[1]["context"]["list_key"]
    page = live.tap(phone, "wamid.att-more", f"more:{list_key}:1")
    rows = [r for s in page["interactive_list"]["sections"] for r in s["rows"]]
    assert len(rows) == 10 and all(r["id"].startswith(("approve:", "more:")) for r in rows)
    approved = live.tap(phone, "wamid.att-all", f"approve_supplier:1:{list_key}")
    assert approved["text"].startswith("✅"), approved["text"]
    commands = {_json(r)["command"]["idempotency_key"] for r in live.read("erp.commands")}
    assert {f"pol:{i}" for i in ids.values()} <= commands

    # a tick (and more) after the list and the e-mail, nothing more reached the phone
    time.sleep(max(0.0, emailed + TICK_S + 1 - time.monotonic()))
    assert [m["context"]["kind"] for m in alert_messages()] == ["stock_alert",
                                                                "stock_alert_list"]
    assert not any(past in _alert_ids_of(m) for m in live.messages(MESSAGES, phone))


def _digest(live: Stack, phone: str) -> dict[str, dict[str, Any]]:
    """The 07:00 crontab's turn for one buyer, and the digest it sends (by channel)."""
    now = datetime.now(UTC)
    live.produce(FEED, phone, orjson.dumps({"kind": "digest", "at": now.isoformat()}))

    buyer_id = str(next(n for n, p in BUYERS.items() if p == phone))

    def found() -> dict[str, dict[str, Any]] | None:
        mine = {m["channel"]: m for m in map(_json, live.read(MESSAGES, EMAILS))
                if m["context"].get("kind") == "stock_digest"
                and m["context"].get("buyer_id") == buyer_id}
        return mine if len(mine) == 2 else None
    return wait_for(found, 30, "the digest")


def test_a_sporadic_c_item_out_of_stock_is_no_message_but_in_the_digest(live: Stack) -> None:
    phone, sku = BUYERS[2], f"ATT-{SPORADIC}"
    live.buyer_writes(phone, "wamid.att-hello-2")
    live.execute(f"UPDATE stock SET on_hand = 0, updated_at = now() "
                 f"WHERE product_id = {SPORADIC} AND warehouse_id = {WAREHOUSE}")
    alert = wait_for(lambda: next((a for a in map(_json, live.read(ALERTS))
                                   if a["product_id"] == SPORADIC and a["level"] == "critico"),
                                  None), 60, "the alert")
    assert alert["route"] == "proposal_line" and alert["segment"].startswith("C/")
    seen = time.monotonic()
    # The digest's turn follows the alert in the buyer's feed (one partition), so once the
    # digest is out the buyer loop has decided the alert; a tick (and more) after it too.
    digest = _digest(live, phone)
    assert sku in digest["email"]["html"]
    time.sleep(max(0.0, seen + TICK_S + 1 - time.monotonic()))
    assert not any(sku in json.dumps(m) for m in live.messages(MESSAGES, phone)
                   if m["context"].get("kind") != "stock_digest")
    assert not any(sku in json.dumps(m["body"]) for m in live.double()
                   if "Resumen de inventario" not in json.dumps(m["body"]))  # the digest's


@pytest.mark.slow  # a worker restart: ~40 s
def test_a_worker_killed_with_a_window_open_sends_the_list_once(live: Stack) -> None:
    phone = BUYERS[3]
    live.buyer_writes(phone, "wamid.att-hello-3")
    live.drop(KILLED[:1])
    live.alert_ids(KILLED[:1])
    wait_for(lambda: [m for m in live.messages(MESSAGES, phone) if _alert_ids_of(m)] or None,
             30, "the first critical")
    live.drop(KILLED[1:])  # within the window: gathered
    ids = live.alert_ids(KILLED)
    gathered = {ids[p] for p in KILLED[1:]}
    wait_for(lambda: gathered <= {_json(r)["alert"]["alert_id"] for r in live.read(FEED)
                                  if _json(r).get("alert")}, 30, "the feed")
    time.sleep(2)  # the worker read them (the window is 10 s)
    live.supervisor.kill("worker")
    live.supervisor.start("worker", *WORKER, env=live.env)
    lists = wait_for(lambda: [m for m in live.messages(MESSAGES, phone)
                              if m["context"].get("kind") == "stock_alert_list"] or None,
                     180, "the gathered list after the restart")
    time.sleep(8)
    lists = [m for m in live.messages(MESSAGES, phone)
             if m["context"].get("kind") == "stock_alert_list"]
    assert {m["idempotency_key"] for m in lists} == {lists[0]["idempotency_key"]}
    assert _alert_ids_of(lists[0]) == gathered
    accepted = [m for m in live.double() if m["to"] == phone
                and m["type"] == "interactive" and m["body"]["interactive"]["type"] == "list"]
    assert len(accepted) == 1


@pytest.mark.slow  # the new snapshot's settling and go-live: ~45 s
def test_a_resnapshot_is_one_go_live_summary_per_buyer_again(live: Stack) -> None:
    """`topllantas cdc resnapshot` and a new `cdc run` publish the whole ERP again: its first
    evaluation sends each buyer one summary of their open alerts and the e-mail with the list,
    as a fresh start does, and no alert of its own. Last in the module: every buyer's feed sees
    the snapshot again."""
    before = {m["idempotency_key"] for m in map(_json, live.read(MESSAGES))}
    emails_before = {m["idempotency_key"] for m in map(_json, live.read(EMAILS))}
    def snapshot_rows() -> int:
        return sum(1 for r in live.read("erp.public.stock")
                   if r.value is not None and _json(r)["source"]["snapshot"] != "false")

    stock_rows = snapshot_rows()
    live.supervisor.stop("cdc")
    subprocess.run([sys.executable, "-m", "ops.cli.main", "cdc", "resnapshot"], env=live.env,
                   check=True, capture_output=True, timeout=60)
    live.supervisor.start("cdc", "cdc", "run", env=live.env)
    wait_for(lambda: snapshot_rows() >= 2 * stock_rows, 60, "the new snapshot", interval=1)

    def new_messages() -> list[dict[str, Any]]:
        return [m for m in map(_json, live.read(MESSAGES)) if m["idempotency_key"] not in before
                and m["channel"] == "whatsapp"
                and not m["idempotency_key"].startswith("buyer-reply:")]

    # the worker reads it, its keys settle 15 s after the last position (swept every 5 s), then
    # the go-live quiet time and a tick of the attention clock
    wait_for(lambda: len({m["to"] for m in new_messages()
                          if m["context"].get("kind") == "stock_golive"}) == 3 or None,
             120, "a go-live summary per buyer after the re-snapshot", interval=1)
    time.sleep(float(ENV["ATTENTION_GOLIVE_QUIET_S"]) + 2 * TICK_S)  # more would have come
    per_buyer = {phone: [m["context"].get("kind") for m in new_messages() if m["to"] == phone]
                 for phone in BUYERS.values()}
    assert all(kinds.count("stock_golive") == 1 and len(kinds) <= 2
               for kinds in per_buyer.values()), per_buyer
    assert not any(kind in ("stock_alert", "stock_alert_list")
                   for kinds in per_buyer.values() for kind in kinds), per_buyer
    emails = [m for m in map(_json, live.read(EMAILS)) if m["idempotency_key"] not in
              emails_before and m["context"].get("kind") == "stock_golive"]
    assert len(emails) == 3
    latest: dict[tuple[int, int], dict[str, Any]] = {}
    for alert in map(_json, live.read(ALERTS)):  # one key's alerts are in order (its partition)
        latest[(alert["product_id"], alert["warehouse_id"])] = alert
    listed = 0
    for email in emails:
        listed += len(_csv_rows(email))
    assert listed == sum(not a["resolved"] for a in latest.values())  # every open alert, once
