"""Issue 27's CDC defects on the real broker and PostgreSQL: values outside the everyday range,
primary-key changes, replica identity and TOAST, a PostgreSQL restart."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
import pytest

from ops.stack.postgres import start_postgres
from ops.stack.processes import pid_alive
from ops.stack.stack import Component, load_state
from processors.change_events import BadEvent, decode_change
from schemas.cdc import UNAVAILABLE_VALUE
from schemas.settings import Settings
from sources.cdc.capture import CdcSource
from sources.cdc.slot import ReplicaIdentityRefused, SlotManager
from tests.integration.cdc_state import snapshot_done
from tests.integration.kafka_read import Record, read_all
from tests.integration.test_cdc import caught_up
from tests.stack_fixture import TestStack
from transport.dlq import DeadLetter

pytestmark = pytest.mark.integration


@asynccontextmanager
async def cdc_running(stack: TestStack) -> AsyncIterator[asyncpg.Connection]:
    """CDC in this process until the block ends; the block gets an ERP connection. CDC must
    still be running at the end: a CDC that stopped on data fails the test with its error."""
    settings = stack.settings()
    stop = asyncio.Event()
    task = asyncio.create_task(CdcSource(settings).run(stop))
    conn = await asyncpg.connect(stack.erp_dsn)
    try:
        await _until_done(streaming(conn, settings.cdc_slot), task)
        yield conn
        await _until_done(caught_up(stack, timeout=30), task)
        assert not task.done(), "CDC stopped"
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        while await conn.fetchval(  # the next test's CDC finds the slot free
                "SELECT active FROM pg_replication_slots WHERE slot_name = $1",
                settings.cdc_slot):
            await asyncio.sleep(0.05)
        await conn.close()


async def streaming(conn: asyncpg.Connection, slot: str) -> None:
    """Until CDC has taken its snapshot and streams from its slot."""
    await snapshot_done(conn, slot)
    while not await conn.fetchval(
            "SELECT active FROM pg_replication_slots WHERE slot_name = $1", slot):
        await asyncio.sleep(0.05)


async def _until_done(wait: Any, cdc: asyncio.Task) -> None:
    """`wait`, unless CDC dies first (then its exception)."""
    waiting = asyncio.ensure_future(wait)
    await asyncio.wait([waiting, cdc], return_when=asyncio.FIRST_COMPLETED)
    if cdc.done() and not waiting.done():
        waiting.cancel()
        cdc.result()
        raise AssertionError("CDC stopped")
    waiting.result()


def latest(stack: TestStack, table: str, op: str | None = None) -> dict[bytes, dict]:
    """The last event per key on `table`'s topic (of `op` only, when given)."""
    out: dict[bytes, dict] = {}
    for r in read_all(stack.bootstrap_servers, [f"erp.public.{table}"], idle=1.0):
        if r.value is not None and r.key is not None:
            event = orjson.loads(r.value)
            if op is None or event["op"] == op:
                out[r.key] = event
    return out


def key(id_: int) -> bytes:
    return orjson.dumps({"id": id_})


ODD_TIMES = ["infinity", "-infinity", "0044-03-15 12:00:00+00 BC", "12345-01-01 00:00:00+00"]
# Debezium's conventions: the infinities as strings, ISO-8601 expanded years (1 BC is 0000)
ODD_TIMES_PUBLISHED = ["infinity", "-infinity", "-0043-03-15T12:00:00Z",
                       "+12345-01-01T00:00:00Z"]
ODD_DATES = {"infinity": "infinity", "0044-03-15 BC": "-0043-03-15",
             "12345-01-01": "+12345-01-01"}


async def test_defect1_infinity_timestamp_does_not_stop_cdc(fresh_stack: TestStack) -> None:
    async with cdc_running(fresh_stack) as conn:
        products = [r["id"] for r in await conn.fetch(
            "SELECT id FROM products ORDER BY id LIMIT $1", len(ODD_TIMES))]
        for id_, text in zip(products, ODD_TIMES, strict=True):
            await conn.execute("UPDATE products SET updated_at = $2::text::timestamptz "
                               "WHERE id = $1", id_, text)
        warehouse = await conn.fetchval("SELECT min(id) FROM warehouses")
        await conn.execute("UPDATE warehouses SET lat = 'NaN', lon = '-Infinity' WHERE id = $1",
                           warehouse)
        orders = [r["id"] for r in await conn.fetch(
            "SELECT id FROM sales_orders ORDER BY id LIMIT $1", len(ODD_DATES))]
        for id_, text in zip(orders, ODD_DATES, strict=True):
            await conn.execute("UPDATE sales_orders SET delivery_date = $2::text::date "
                               "WHERE id = $1", id_, text)
        await conn.execute("INSERT INTO brands (id, name, tier) VALUES (991, 'Después', 'media')")
    assert key(991) in latest(fresh_stack, "brands")  # a later change on another table
    assert_odd_values(fresh_stack, products, warehouse, orders, op="u")

    settings = fresh_stack.settings()  # `cdc resnapshot`, then a run: a fresh snapshot
    await drop_slot(settings)
    async with cdc_running(fresh_stack):
        pass
    assert_odd_values(fresh_stack, products, warehouse, orders, op="r")


def assert_odd_values(stack: TestStack, products: list[int], warehouse: int, orders: list[int],
                      op: str) -> None:
    events = latest(stack, "products", op)
    assert [events[key(i)]["after"]["updated_at"] for i in products] == ODD_TIMES_PUBLISHED
    after = latest(stack, "warehouses", op)[key(warehouse)]["after"]
    assert (after["lat"], after["lon"]) == ("NaN", "-Infinity")  # not null
    events = latest(stack, "sales_orders", op)
    assert [events[key(i)]["after"]["delivery_date"] for i in orders] == list(ODD_DATES.values())


async def drop_slot(settings: Settings) -> None:
    source = CdcSource(settings)
    conn = await source.connect()
    try:
        await SlotManager(conn, settings, list(source.catalogue.cdc_tables)).drop()
    finally:
        await conn.close()


def dead_letters(stack: TestStack, table: str) -> list[tuple[Record, DeadLetter]]:
    records = read_all(stack.bootstrap_servers, [f"erp.public.{table}.dlq"], idle=1.0)
    return [(r, DeadLetter.from_record(list(r.headers), r.key, r.value)) for r in records]


async def test_defect4_primary_key_change_deletes_and_tombstones_the_old_key(
        fresh_stack: TestStack) -> None:
    async with cdc_running(fresh_stack) as conn:
        old = await conn.fetchval("SELECT min(id) FROM vehicle_fitments")
        new = old + 900_000
        await conn.execute("UPDATE vehicle_fitments SET id = $2 WHERE id = $1", old, new)
    records = [r for r in read_all(fresh_stack.bootstrap_servers,
                                   ["erp.public.vehicle_fitments"], idle=1.0)
               if r.key in (key(old), key(new))]
    streamed = [r for r in records if r.value is None
                or orjson.loads(r.value)["source"]["snapshot"] == "false"]
    shape = [(r.key, r.value and orjson.loads(r.value)["op"]) for r in streamed]
    assert shape == [(key(old), "d"), (key(old), None), (key(new), "c")]
    deleted, _, created = (r.value and orjson.loads(r.value) for r in streamed)
    assert deleted["before"]["id"] == old and deleted["after"] is None
    assert created["before"] is None and created["after"]["id"] == new
    assert dict(streamed[0].headers)["__debezium.newkey"] == key(new)
    assert dict(streamed[2].headers)["__debezium.oldkey"] == key(old)


async def replica_identity(conn: asyncpg.Connection, table: str) -> str:
    return await conn.fetchval("SELECT relreplident::text FROM pg_class WHERE oid = $1::regclass",
                               f"public.{table}")


async def test_defect5_tables_without_full_replica_identity_are_set_full_or_refused(
        fresh_stack: TestStack, caplog: pytest.LogCaptureFixture) -> None:
    conn = await asyncpg.connect(fresh_stack.erp_dsn)
    try:
        await conn.execute("ALTER TABLE customers REPLICA IDENTITY DEFAULT")
        await conn.execute("DROP ROLE IF EXISTS cdc_probe; CREATE ROLE cdc_probe LOGIN")
        probe = fresh_stack.settings(ERP_DATABASE_URL=fresh_stack.erp_dsn.replace(
            "//erp@", "//cdc_probe@"))
        with pytest.raises(ReplicaIdentityRefused, match=r"public\.customers \(REPLICA "
                                                         r"IDENTITY DEFAULT\).*ALTER TABLE"):
            await CdcSource(probe).run(asyncio.Event())  # a role that may not set it
        assert await replica_identity(conn, "customers") == "d"
    finally:
        await conn.close()
    with caplog.at_level(logging.WARNING, "topllantas.cdc"):
        async with cdc_running(fresh_stack) as conn:
            assert await replica_identity(conn, "customers") == "f"
            customer = await conn.fetchval("SELECT min(id) FROM customers")
            await conn.execute("UPDATE customers SET city = 'Colima' WHERE id = $1", customer)
    assert 'set REPLICA IDENTITY FULL on public."customers" (was DEFAULT)' in caplog.text
    before = latest(fresh_stack, "customers", "u")[key(customer)]["before"]
    assert before is not None and before["name"]  # the whole old row


async def test_defect5_unchanged_toast_value_is_a_placeholder_consumers_merge(
        fresh_stack: TestStack) -> None:
    big = "SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 700)"
    async with cdc_running(fresh_stack) as conn:  # identity changed behind a running CDC
        await conn.execute("ALTER TABLE products REPLICA IDENTITY DEFAULT")
        try:
            product = await conn.fetchval("SELECT max(id) FROM products")
            await conn.execute(f"UPDATE products SET model = ({big}) WHERE id = $1", product)
            first = await conn.fetchval("SELECT model FROM products WHERE id = $1", product)
            await conn.execute("UPDATE products SET list_price = list_price + 1 "
                               "WHERE id = $1", product)
            await caught_up(fresh_stack, timeout=30)
        finally:
            await conn.execute("ALTER TABLE products REPLICA IDENTITY FULL")
    updates = [r.value for r in read_all(fresh_stack.bootstrap_servers, ["erp.public.products"],
                                         idle=1.0) if r.key == key(product) and r.value]
    *_, with_model, without = updates
    assert orjson.loads(without)["after"]["model"] == UNAVAILABLE_VALUE
    with pytest.raises(BadEvent, match="without the value of model"):
        decode_change(without, "products")
    previous = decode_change(with_model, "products")
    assert previous is not None and previous.after is not None
    change = decode_change(without, "products", previous=previous.after)
    assert change is not None and change.after is not None
    assert change.after["model"] == first and len(first) > 20_000


def restart_postgres(stack: TestStack) -> None:
    """Stop the embedded PostgreSQL as a restart does (fast shutdown) and start it again on the
    same port and data directory."""
    settings = stack.settings()
    state = load_state(settings)
    assert state is not None
    os.kill(state.postgres.pid, signal.SIGINT)
    deadline = time.monotonic() + 30
    while pid_alive(state.postgres.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    state_dir = settings.state_dir.resolve()
    pid, port = start_postgres(state_dir / "pgdata", state.postgres.port,
                               state_dir / "postgres.log")
    state.postgres = Component(pid, port, time.time())
    state.save(settings.stack_file)  # the stack's teardown stops the new server


async def connect_when_up(dsn: str) -> asyncpg.Connection:
    deadline = time.monotonic() + 30
    while True:
        try:
            return await asyncpg.connect(dsn)
        except (asyncpg.CannotConnectNowError, OSError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def test_defect8_cdc_survives_a_postgresql_restart(fresh_stack: TestStack) -> None:
    if not fresh_stack.embedded:
        pytest.skip("the container's PostgreSQL is not ours to restart")
    settings = fresh_stack.settings()
    stop = asyncio.Event()
    source = CdcSource(settings)
    task = asyncio.create_task(source.run(stop))
    try:
        conn = await asyncpg.connect(fresh_stack.erp_dsn)
        await _until_done(streaming(conn, settings.cdc_slot), task)
        await conn.close()
        await asyncio.to_thread(restart_postgres, fresh_stack)
        conn = await connect_when_up(fresh_stack.erp_dsn)
        await conn.execute("INSERT INTO brands (id, name, tier) VALUES (992, 'Reinicio', 'media')")
        await conn.close()
        await _until_done(caught_up(fresh_stack, timeout=60), task)
        assert not task.done() and source.stats.reconnects >= 1
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    assert key(992) in latest(fresh_stack, "brands")
