"""The reference ERP as a going concern (issue 24, item 6): transfers move stock through the
ERP's own trigger, and `erp simulate` receives orders and transfers after their lead time."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import asyncpg
import pytest

from ops.erp.simulate import simulate_day
from tests.stack_fixture import TestStack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(fresh_stack: TestStack) -> Iterator[TestStack]:
    yield fresh_stack


async def _stock(conn: asyncpg.Connection, product: int, wh: int) -> tuple[int, int]:
    row = await conn.fetchrow("SELECT on_hand, in_transit FROM stock WHERE product_id = $1 "
                              "AND warehouse_id = $2", product, wh)
    return (row["on_hand"], row["in_transit"]) if row else (0, 0)


async def _a_pair_with_stock(conn: asyncpg.Connection, at_least: int) -> int:
    return await conn.fetchval(
        "SELECT product_id FROM stock WHERE warehouse_id = 1 AND on_hand - reserved >= $1 "
        "ORDER BY product_id LIMIT 1", at_least)


def test_a_transfer_moves_stock_out_then_in(stack: TestStack) -> None:
    async def scenario() -> None:
        admin = await asyncpg.connect(stack.erp_dsn)
        sink = await asyncpg.connect(stack.sink_dsn)  # the pipeline's least-privilege role
        try:
            product = await _a_pair_with_stock(admin, 3)
            before_a, before_b = await _stock(admin, product, 1), await _stock(admin, product, 2)
            insert = ("INSERT INTO stock_transfers (product_id, from_warehouse_id, "
                      "to_warehouse_id, qty, created_by, idempotency_key) "
                      "VALUES ($1, 1, 2, $2, 'topllantas', $3) "
                      "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id")
            tid = await sink.fetchval(insert, product, 2, "tr:test:1")
            assert tid is not None
            assert await sink.fetchval(insert, product, 2, "tr:test:1") is None  # once
            assert await _stock(admin, product, 1) == (before_a[0] - 2, before_a[1])
            assert await _stock(admin, product, 2) == (before_b[0], before_b[1] + 2)
            with pytest.raises(asyncpg.CheckViolationError, match="available"):
                await sink.execute(insert, product, 10**6, "tr:test:too-many")
            await admin.execute("UPDATE stock_transfers SET status = 'recibido' WHERE id = $1",
                                tid)
            assert await _stock(admin, product, 2) == (before_b[0] + 2, before_b[1])
            with pytest.raises(asyncpg.CheckViolationError, match="already"):
                await admin.execute(
                    "UPDATE stock_transfers SET status = 'cancelado' WHERE id = $1", tid)
            moves = await admin.fetch("SELECT warehouse_id, qty FROM stock_moves WHERE ref = $1 "
                                      "AND kind = 'traspaso' ORDER BY id", f"TR-{tid}")
            assert [(m["warehouse_id"], m["qty"]) for m in moves] == [(1, -2), (2, 2)]
        finally:
            await admin.close()
            await sink.close()

    asyncio.run(scenario())


def test_simulate_receives_orders_and_transfers_after_their_lead_time(stack: TestStack) -> None:
    async def scenario() -> None:
        conn = await asyncpg.connect(stack.erp_dsn)
        try:
            supplier, lead = await conn.fetchrow(
                "SELECT id, lead_time_days FROM suppliers ORDER BY id LIMIT 1")
            product = await conn.fetchval(
                "SELECT id FROM products WHERE supplier_id = $1 LIMIT 1", supplier)
            due, fresh = [await conn.fetchval(
                "INSERT INTO purchase_orders (supplier_id, warehouse_id, status, created_at) "
                "VALUES ($1, 3, 'enviada', now() - $2 * interval '1 day') RETURNING id",
                supplier, days) for days in (float(lead) + 0.5, float(lead) - 1)]
            for po in (due, fresh):
                await conn.execute(
                    "INSERT INTO purchase_order_lines (po_id, product_id, qty, unit_cost) "
                    "VALUES ($1, $2, 8, 100)", po, product)
            moved = await _a_pair_with_stock(conn, 1)
            tid = await conn.fetchval(
                "INSERT INTO stock_transfers (product_id, from_warehouse_id, to_warehouse_id, "
                "qty, transit_days) VALUES ($1, 1, 3, 1, 1) RETURNING id", moved)
            await conn.execute("UPDATE stock_transfers SET created_at = now() - interval "
                               "'25 hours' WHERE id = $1", tid)
            on_hand = (await _stock(conn, product, 3))[0]
            await simulate_day(stack.erp_dsn, speed=1.0, duration=1.5, seed=3)
            status = dict(await conn.fetch(
                "SELECT id, status FROM purchase_orders WHERE id = ANY($1)", [due, fresh]))
            assert status == {due: "recibida", fresh: "enviada"}
            assert (await _stock(conn, product, 3))[0] >= on_hand + 8 - 4  # a sale may take 4
            assert await conn.fetchval(
                "SELECT status FROM stock_transfers WHERE id = $1", tid) == "recibido"
        finally:
            await conn.close()

    asyncio.run(scenario())
