"""A snapshot limited to recent history (CDC_SNAPSHOT_DAYS) on the real broker and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import asyncpg
import orjson
import pytest

from ops.erp.generate import generate_catalogue
from ops.erp.seed import seed_erp
from ops.topics_admin import apply_catalogue
from sources.cdc.capture import CdcSource
from tests import stack_fixture
from tests.integration.cdc_state import snapshot_done
from tests.integration.kafka_read import read_all
from tests.stack_fixture import TestStack

pytestmark = pytest.mark.integration
DAYS = 10


@pytest.fixture(scope="module")
def stack() -> Iterator[TestStack]:
    with stack_fixture.test_stack() as running:
        asyncio.run(seed_erp(running.erp_dsn, catalogue=generate_catalogue(
            seed=5, n_products=60, n_customers=20, days=40)))
        apply_catalogue(running.settings())
        yield running


async def test_history_tables_snapshot_only_recent_and_open_rows(stack: TestStack) -> None:
    settings = stack.settings(CDC_SNAPSHOT_DAYS=DAYS)
    conn = await asyncpg.connect(stack.erp_dsn)
    try:  # an old order still open must come along whatever its age
        old_open = await conn.fetchval(
            "UPDATE sales_orders SET status = 'confirmado' WHERE id = "
            "(SELECT min(id) FROM sales_orders) RETURNING id")
        expected_orders = {r["id"] for r in await conn.fetch(
            "SELECT id FROM sales_orders WHERE created_at >= now() - make_interval(days => $1) "
            "OR status IN ('cotizacion', 'reservado', 'confirmado')", DAYS)}
        all_orders = await conn.fetchval("SELECT count(*) FROM sales_orders")
        products = await conn.fetchval("SELECT count(*) FROM products")
        stop = asyncio.Event()
        task = asyncio.create_task(CdcSource(settings).run(stop))
        await snapshot_done(conn, settings.cdc_slot)
    finally:
        await conn.close()
    stop.set()
    await asyncio.wait_for(task, 30)

    def snapshot(table: str) -> list[dict]:
        values = [orjson.loads(r.value) for r in read_all(
            stack.bootstrap_servers, [f"erp.public.{table}"]) if r.value]
        return [v["after"] for v in values if v["op"] == "r"]

    orders = {row["id"] for row in snapshot("sales_orders")}
    assert orders == expected_orders and old_open in orders
    assert 0 < len(orders) < all_orders
    cutoff = datetime.now(UTC) - timedelta(days=DAYS + 1)
    assert all(datetime.fromisoformat(row["created_at"]) >= cutoff or row["id"] == old_open
               for row in snapshot("sales_orders") if row["status"] not in
               ("cotizacion", "reservado", "confirmado"))
    assert {row["order_id"] for row in snapshot("sales_order_lines")} <= expected_orders
    assert len(snapshot("products")) == products  # dimensions are never limited
