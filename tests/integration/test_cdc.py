"""CDC on the real broker and real PostgreSQL: envelope, convergence, crashes, broker pauses."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import asyncpg
import orjson
import pytest

from ops.erp.simulate import simulate_day
from ops.supervisor import Supervisor
from sources.cdc.capture import CdcSource
from tests.integration.cdc_state import (
    assert_converged,
    duplicates,
    erp_state,
    read_cdc,
    rebuild,
    snapshot_done,
)
from tests.integration.conftest import process_env
from tests.integration.kafka_read import Record, read_all
from tests.stack_fixture import TestStack

pytestmark = pytest.mark.integration


async def caught_up(stack: TestStack, timeout: float = 60.0) -> None:
    """Wait until the CDC slot has confirmed everything committed so far."""
    conn = await asyncpg.connect(stack.erp_dsn)
    try:
        target = await conn.fetchval("SELECT pg_current_wal_lsn()")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            confirmed = await conn.fetchval(
                "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = $1",
                stack.settings().cdc_slot)
            if confirmed is not None and confirmed >= target:
                return
            await asyncio.sleep(0.1)
        raise TimeoutError("CDC did not catch up")
    finally:
        await conn.close()


async def test_insert_update_delete_envelopes(fresh_stack: TestStack) -> None:
    settings = fresh_stack.settings()
    stop = asyncio.Event()
    task = asyncio.create_task(CdcSource(settings).run(stop))
    conn = await asyncpg.connect(fresh_stack.erp_dsn)
    try:
        await snapshot_done(conn, settings.cdc_slot)
        await conn.execute("INSERT INTO brands (id, name, tier) VALUES (990, 'Marca X', 'media')")
        await conn.execute("UPDATE brands SET tier = 'premium' WHERE id = 990")
        await conn.execute("DELETE FROM brands WHERE id = 990")
        await caught_up(fresh_stack)
    finally:
        await conn.close()
        stop.set()
        stats = await asyncio.wait_for(task, 30)
    assert stats.snapshot_rows > 0

    records = [r for r in read_all(fresh_stack.bootstrap_servers, ["erp.public.brands"])
               if r.key == b'{"id":990}']
    ops = [orjson.loads(r.value)["op"] if r.value else None for r in records]
    assert ops == ["c", "u", "d", None]  # the delete is followed by a tombstone
    created, updated, deleted = (orjson.loads(r.value) for r in records[:3])
    assert created["before"] is None and created["after"]["name"] == "Marca X"
    assert updated["before"]["tier"] == "media" and updated["after"]["tier"] == "premium"
    assert deleted["before"]["id"] == 990 and deleted["after"] is None
    source = created["source"]
    assert source["schema"] == "public" and source["table"] == "brands"
    assert source["db"] == "erp" and source["snapshot"] == "false"
    assert isinstance(source["lsn"], int) and isinstance(source["txId"], int)
    assert source["lsn"] < updated["source"]["lsn"] < deleted["source"]["lsn"]
    assert {r.partition for r in records} == {records[0].partition}  # order per key


async def test_snapshot_and_stream_converge(fresh_stack: TestStack,
                                            supervisor: Supervisor) -> None:
    supervisor.start("cdc", "cdc", "run", env=process_env(fresh_stack))
    stats = await simulate_day(fresh_stack.erp_dsn, rate=150, duration=6, seed=1)
    assert stats.get("sale", 0) > 100
    await caught_up(fresh_stack)
    records = read_cdc(fresh_stack.bootstrap_servers)
    assert_converged(rebuild(records), await erp_state(fresh_stack.erp_dsn))
    assert_lines_with_their_orders(records)


def assert_lines_with_their_orders(records: list[Record]) -> None:
    """Snapshot and streamed lines, deletes and tombstones are in their order's partition."""
    order_partition = {r.key: r.partition for r in records
                       if r.topic == "erp.public.sales_orders"}
    line_order: dict[bytes | None, bytes] = {}
    checked = 0
    for r in records:
        if r.topic != "erp.public.sales_order_lines":
            continue
        if r.value is not None:
            change = orjson.loads(r.value)
            row = change["after"] or change["before"]
            line_order[r.key] = orjson.dumps({"id": row["order_id"]})
        order = line_order[r.key]
        assert r.partition == order_partition[order], (r.key, order)
        checked += 1
    assert checked > 100 and len(set(order_partition.values())) > 1


async def test_sigkill_mid_stream_loses_nothing(fresh_stack: TestStack,
                                                supervisor: Supervisor) -> None:
    env = process_env(fresh_stack, CDC_BATCH_ROWS="200")
    supervisor.start("cdc", "cdc", "run", env=env)
    business = asyncio.create_task(
        simulate_day(fresh_stack.erp_dsn, rate=150, duration=8, seed=2))
    await asyncio.sleep(3)
    supervisor.kill("cdc")
    await asyncio.sleep(1)
    supervisor.start("cdc", "cdc", "run", env=env)
    await business
    await caught_up(fresh_stack)
    records = read_cdc(fresh_stack.bootstrap_servers)
    assert_converged(rebuild(records), await erp_state(fresh_stack.erp_dsn))
    print(f"duplicates re-sent after SIGKILL: {duplicates(records)}")


async def test_broker_paused_for_ten_seconds(fresh_stack: TestStack,
                                             supervisor: Supervisor) -> None:
    if fresh_stack.broker_pid is None:
        pytest.skip("the broker process is not ours to pause (container stack)")
    supervisor.start("cdc", "cdc", "run", env=process_env(fresh_stack))
    business = asyncio.create_task(
        simulate_day(fresh_stack.erp_dsn, rate=100, duration=14, seed=3))
    await asyncio.sleep(2)
    os.kill(fresh_stack.broker_pid, signal.SIGSTOP)
    try:
        await asyncio.sleep(10)
    finally:
        os.kill(fresh_stack.broker_pid, signal.SIGCONT)
    await business
    await caught_up(fresh_stack, timeout=120)
    assert_converged(rebuild(read_cdc(fresh_stack.bootstrap_servers)),
                     await erp_state(fresh_stack.erp_dsn))
