"""The Faust worker on the real broker: inventory position equals the ERP, survives a restart,
and bad records go to the dead-letter topic while the worker keeps going."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request

import asyncpg
import orjson
import pytest
from confluent_kafka import Producer

from ops.erp.simulate import simulate_day
from ops.supervisor import Supervisor, wait_for
from tests.integration.conftest import PAGES_AUTH, process_env
from tests.integration.kafka_read import read_all
from tests.integration.test_cdc import caught_up
from tests.stack_fixture import TestStack
from transport.dlq import DeadLetter

pytestmark = pytest.mark.integration


def position(port: str, product_id: int, warehouse_id: int) -> dict | None:
    url = f"http://127.0.0.1:{port}/inventory/{product_id}/{warehouse_id}/"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=PAGES_AUTH),
                                    timeout=5) as response:
            return json.load(response)
    except (urllib.error.HTTPError, urllib.error.URLError, ConnectionError):
        return None


async def mismatches(stack: TestStack, port: str) -> list[tuple]:
    conn = await asyncpg.connect(stack.erp_dsn)
    try:
        rows = await conn.fetch("SELECT product_id, warehouse_id, on_hand, reserved FROM stock")
        on_order = {(r["product_id"], r["warehouse_id"]): r["open"] for r in await conn.fetch(
            "SELECT l.product_id, o.warehouse_id, sum(l.qty - l.received_qty) AS open "
            "FROM purchase_order_lines l JOIN purchase_orders o ON o.id = l.po_id "
            "WHERE o.status IN ('borrador', 'enviada') GROUP BY 1, 2")}
    finally:
        await conn.close()
    bad = []
    for r in rows:
        got = await asyncio.to_thread(position, port, r["product_id"], r["warehouse_id"])
        want = (r["on_hand"], r["reserved"], on_order.get((r["product_id"], r["warehouse_id"]), 0))
        if got is None or (got["on_hand"], got["reserved"], got["on_order"]) != want:
            bad.append((r["product_id"], r["warehouse_id"], want, got))
    return bad


async def eventually_equal(stack: TestStack, port: str, timeout: float = 90) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    bad: list[tuple] = []
    while asyncio.get_running_loop().time() < deadline:
        bad = await mismatches(stack, port)
        if not bad:
            return
        await asyncio.sleep(2)
    raise AssertionError(f"{len(bad)} positions differ from the ERP, e.g. {bad[:3]}")


async def open_purchase_order(stack: TestStack) -> None:
    conn = await asyncpg.connect(stack.erp_dsn)
    try:
        async with conn.transaction():
            po = await conn.fetchval(
                "INSERT INTO purchase_orders (supplier_id, warehouse_id, status) "
                "VALUES (1, 1, 'enviada') RETURNING id")
            await conn.execute(
                "INSERT INTO purchase_order_lines (po_id, product_id, qty, unit_cost) "
                "SELECT $1, id, 8, cost FROM products ORDER BY id LIMIT 3", po)
    finally:
        await conn.close()


async def test_inventory_matches_erp_and_survives_restart(
        fresh_stack: TestStack, supervisor: Supervisor) -> None:
    env = process_env(fresh_stack)
    port = env["FAUST_WEB_PORT"]
    supervisor.start("cdc", "cdc", "run", env=env)
    supervisor.start("worker", "worker", env=env)
    await open_purchase_order(fresh_stack)
    await simulate_day(fresh_stack.erp_dsn, rate=100, duration=5, seed=4)
    await caught_up(fresh_stack)
    await eventually_equal(fresh_stack, port)

    supervisor.stop("worker")
    await simulate_day(fresh_stack.erp_dsn, rate=100, duration=3, seed=5)  # while it is down
    supervisor.start("worker", "worker", env=env)
    await caught_up(fresh_stack)
    await eventually_equal(fresh_stack, port)  # recovered from the changelog + caught up


async def test_bad_records_go_to_the_dead_letter_topic(
        fresh_stack: TestStack, supervisor: Supervisor) -> None:
    env = process_env(fresh_stack)
    supervisor.start("worker", "worker", env=env)
    producer = Producer({"bootstrap.servers": fresh_stack.bootstrap_servers,
                         "partitioner": "murmur2_random"})
    key = b'{"product_id":1,"warehouse_id":1}'
    good_row = {"product_id": 1, "warehouse_id": 1, "on_hand": 4242, "reserved": 0,
                "in_transit": 0, "updated_at": "2026-11-25T00:00:00Z"}
    unknown = {"before": None, "after": {"id": 1}, "op": "c", "ts_ms": 1,
               "source": {"ts_ms": 1, "db": "erp", "schema": "public", "table": "mystery",
                          "lsn": 10**12}}
    good = {"before": None, "after": good_row, "op": "u", "ts_ms": 1,
            "source": {"ts_ms": 1, "db": "erp", "schema": "public", "table": "stock",
                       "lsn": 10**13}}
    producer.produce("erp.public.stock", key=key, value=b"{not json")
    producer.produce("erp.public.stock", key=key, value=orjson.dumps(unknown))
    producer.produce("erp.public.stock", key=key, value=orjson.dumps(good))
    producer.flush(10)

    wait_for(lambda: (position(env["FAUST_WEB_PORT"], 1, 1) or {}).get("on_hand") == 4242,
             90, "the worker to apply the good record after the bad ones")
    letters = [DeadLetter.from_record(list(r.headers), r.key, r.value)
               for r in read_all(fresh_stack.bootstrap_servers, ["erp.public.stock.dlq"])]
    reasons = [d.error for d in letters]
    assert any("not JSON" in e for e in reasons), reasons
    assert any("unknown table" in e and "mystery" in e for e in reasons), reasons
    assert all(d.source_topic == "erp.public.stock" and d.source_offset >= 0 for d in letters)
    assert b"{not json" in [d.value for d in letters]  # original bytes kept for replay
    assert supervisor.running("worker")
