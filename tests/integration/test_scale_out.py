"""Two stock workers in one consumer group: partitions move to a worker that joins and back to
the one that stays when the other stops, while the ERP keeps changing stock. Positions end
equal to the ERP, asked of either worker (the one that does not own a key redirects to the one
that does), `inventory.position` ends on the ERP's numbers, and an alert published twice (read
again after a move) is the same alert."""

from __future__ import annotations

import urllib.request
from collections import defaultdict

import asyncpg
import httpx
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ops.erp.simulate import simulate_day
from ops.stack.processes import free_port
from ops.supervisor import Supervisor, wait_for
from tests.integration.conftest import process_env
from tests.integration.kafka_read import read_all
from tests.integration.test_cdc import caught_up
from tests.integration.test_inventory_worker import eventually_equal, open_purchase_order
from tests.stack_fixture import TestStack

pytestmark = pytest.mark.integration

STOCK_FLOW = ("worker", "--flows", "stock")


def stock_events(port: str) -> float:
    """Stock events this worker's alert agent processed (its `/metrics`)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return sum(sample.value for family in text_string_to_metric_families(text)
               for sample in family.samples
               if sample.name == "topllantas_events_processed_total"
               and sample.labels.get("agent") == "stock_alerts")


def serving(port: str) -> bool:
    try:
        stock_events(port)
        return True
    except OSError:
        return False


async def erp_stock(stack: TestStack) -> dict[tuple[int, int], tuple[int, int]]:
    conn = await asyncpg.connect(stack.erp_dsn)
    try:
        rows = await conn.fetch("SELECT product_id, warehouse_id, on_hand, reserved FROM stock")
    finally:
        await conn.close()
    return {(r["product_id"], r["warehouse_id"]): (r["on_hand"], r["reserved"]) for r in rows}


async def test_partitions_move_between_two_workers_and_nothing_goes_wrong(
        fresh_stack: TestStack, supervisor: Supervisor) -> None:
    env = process_env(fresh_stack)
    first, second = env["FAUST_WEB_PORT"], str(free_port())
    supervisor.start("cdc", "cdc", "run", env=env)
    supervisor.start("worker-a", *STOCK_FLOW, env=env)
    wait_for(lambda: serving(first), 120, "the first worker's web server")
    await open_purchase_order(fresh_stack)
    await simulate_day(fresh_stack.erp_dsn, rate=60, duration=4, seed=21)

    # the second worker joins while the ERP sells: the group rebalances under traffic
    supervisor.start("worker-b", *STOCK_FLOW, env={**env, "FAUST_WEB_PORT": second})
    for seed in range(22, 40):  # until the second worker has taken partitions (90 s at most)
        await simulate_day(fresh_stack.erp_dsn, rate=60, duration=5, seed=seed)
        if serving(second) and stock_events(second) > 0:
            break
    await simulate_day(fresh_stack.erp_dsn, rate=60, duration=5, seed=40)
    await caught_up(fresh_stack)
    await eventually_equal(fresh_stack, first, timeout=120)
    await eventually_equal(fresh_stack, second, timeout=120)
    assert stock_events(second) > 0, "the second worker never got a partition"
    # each key is answered by the worker that owns its partition; the other one redirects there
    for product_id, warehouse_id in list(await erp_stock(fresh_stack))[:12]:
        path = f"/inventory/{product_id}/{warehouse_id}/"
        answers = {port: httpx.get(f"http://127.0.0.1:{port}{path}", timeout=5)
                   for port in (first, second)}
        assert sorted(r.status_code for r in answers.values()) == [200, 307], answers
        owner = next(port for port, r in answers.items() if r.status_code == 200)
        moved = next(r for r in answers.values() if r.status_code == 307)
        assert moved.headers["location"] == f"http://127.0.0.1:{owner}{path}"

    # the first worker leaves while the ERP sells: its partitions move to the second
    before = stock_events(second)
    supervisor.stop("worker-a")
    await simulate_day(fresh_stack.erp_dsn, rate=60, duration=8, seed=23)
    await caught_up(fresh_stack)
    await eventually_equal(fresh_stack, second, timeout=120)
    assert stock_events(second) > before
    assert supervisor.running("worker-b")

    # what analysts read: the newest position of every key is the ERP's
    latest: dict[tuple[int, int], tuple[int, int]] = {}
    for record in read_all(fresh_stack.bootstrap_servers, ["inventory.position"]):
        if record.value is not None:
            row = orjson.loads(record.value)
            latest[(row["product_id"], row["warehouse_id"])] = (row["on_hand"], row["reserved"])
    erp = await erp_stock(fresh_stack)
    assert {key: latest.get(key) for key in erp} == erp

    # an alert published again after a move is the same alert, never a second decision
    alerts: dict[str, set[bytes]] = defaultdict(set)
    for record in read_all(fresh_stack.bootstrap_servers, ["alerts.stock"]):
        alerts[orjson.loads(record.value)["event_id"]].add(record.value)
    assert alerts, "no stock alert was published"
    assert [event for event, values in alerts.items() if len(values) > 1] == []
