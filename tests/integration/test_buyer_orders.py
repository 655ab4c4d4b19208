"""Buyer orders on the real stack (issue 24 items 3 and 4).

Sink level (the session's stack, no worker): the day's draft order takes one line per approval
and the same approval twice is one line; a draft no longer `borrador` takes no more lines; a
transfer is one row however often it is applied, moves the stock the ERP's way, and is refused
without available stock.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import asyncpg
import pytest

from schemas.commands import AddPurchaseOrderLine, CreateStockTransfer, PurchaseLine
from sinks.backoff import Backoff
from sinks.erp import ErpSink
from tests.stack_fixture import TestStack

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC)
SUPPLIER, BRANCH_A, BRANCH_B = 9201, 9201, 9202
PRODUCTS = [9201, 9202, 9203]

SEED = f"""
INSERT INTO brands VALUES (9201, 'Marca pedidos', 'media') ON CONFLICT DO NOTHING;
INSERT INTO categories VALUES (9201, 'Categoría pedidos') ON CONFLICT DO NOTHING;
INSERT INTO suppliers (id, name, lead_time_days, min_order_value)
    VALUES ({SUPPLIER}, 'Proveedor pedidos', 10, 50000) ON CONFLICT DO NOTHING;
INSERT INTO warehouses VALUES ({BRANCH_A}, 'PDA', 'Sucursal A', 'Puebla', 'Puebla', 19.04,
    -98.2, true), ({BRANCH_B}, 'PDB', 'Sucursal B', 'Puebla', 'Puebla', 19.05, -98.21, true)
    ON CONFLICT DO NOTHING;
INSERT INTO products (id, sku, brand_id, category_id, supplier_id, model, width, aspect_ratio,
    rim, tire_size, load_index, speed_index, cost, list_price, weight_kg)
    SELECT g, 'PED-' || g, 9201, 9201, {SUPPLIER}, 'Modelo', 205, 55, 16, '205/55R16', 91, 'V',
           1000, 1500, 9
    FROM unnest(ARRAY{PRODUCTS}) g ON CONFLICT DO NOTHING;
INSERT INTO stock (product_id, warehouse_id, on_hand)
    SELECT g, w, 100 FROM unnest(ARRAY{PRODUCTS}) g, unnest(ARRAY[{BRANCH_A}, {BRANCH_B}]) w
    ON CONFLICT DO NOTHING;
"""


@pytest.fixture(scope="module")
async def erp(stack: TestStack) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(stack.erp_dsn)
    await conn.execute(SEED)
    yield conn
    await conn.close()


@pytest.fixture
async def sink(stack: TestStack) -> AsyncIterator[ErpSink]:
    async with ErpSink(stack.sink_dsn, statement_timeout_s=2.0,
                       backoff=Backoff(base_s=0.1, cap_s=1.0)) as running:
        yield running


def _line(order_key: str, alert: str, product: int, qty: int = 10) -> AddPurchaseOrderLine:
    return AddPurchaseOrderLine(
        idempotency_key=f"pol:{alert}", issued_at=NOW, order_key=order_key,
        supplier_id=SUPPLIER, warehouse_id=BRANCH_A,
        line=PurchaseLine(product_id=product, qty=qty, unit_cost=Decimal("950.00")))


async def test_approvals_join_one_draft_and_the_same_line_twice_is_one(
        erp: asyncpg.Connection, sink: ErpSink) -> None:
    order_key = f"po:{SUPPLIER}:{BRANCH_A}:{uuid.uuid4().hex[:8]}"
    lines = [_line(order_key, f"a{p}-{order_key}", p) for p in PRODUCTS]
    first = await sink.apply_batch([lines[0], lines[0]])
    rest = await sink.apply_batch([lines[1], lines[2], lines[1]])
    again = await sink.apply_batch(lines)
    assert [r.status for r in first] == ["applied", "duplicate"]
    assert [r.status for r in rest] == ["applied", "applied", "duplicate"]
    assert [r.status for r in again] == ["duplicate"] * 3
    (po_id,) = {r.entity_ids[0] for r in [*first, *rest]}
    rows = await erp.fetch("SELECT product_id, qty FROM purchase_order_lines WHERE po_id = $1 "
                           "ORDER BY product_id", po_id)
    assert [(r["product_id"], r["qty"]) for r in rows] == [(p, 10) for p in PRODUCTS]
    header = await erp.fetchrow("SELECT status, supplier_id, warehouse_id FROM purchase_orders "
                                "WHERE idempotency_key = $1", order_key)
    assert tuple(header) == ("borrador", SUPPLIER, BRANCH_A)

    await erp.execute("UPDATE purchase_orders SET status = 'enviada' WHERE id = $1", po_id)
    (late,) = await sink.apply_batch([_line(order_key, f"late-{order_key}", PRODUCTS[0])])
    assert late.status == "failed" and "no longer a draft" in (late.error or "")
    assert await erp.fetchval("SELECT count(*) FROM purchase_order_lines WHERE po_id = $1",
                              po_id) == 3


async def _stock(erp: asyncpg.Connection, product: int, warehouse: int) -> tuple[int, int]:
    row = await erp.fetchrow("SELECT on_hand, in_transit FROM stock WHERE product_id = $1 AND "
                             "warehouse_id = $2", product, warehouse)
    return row["on_hand"], row["in_transit"]


async def test_a_transfer_is_one_row_moves_stock_and_needs_available_stock(
        erp: asyncpg.Connection, sink: ErpSink) -> None:
    product = PRODUCTS[1]
    before_a, before_b = await _stock(erp, product, BRANCH_A), await _stock(erp, product, BRANCH_B)
    key = f"tr:{uuid.uuid4().hex[:10]}"
    transfer = CreateStockTransfer(idempotency_key=key, issued_at=NOW, product_id=product,
                                   from_warehouse_id=BRANCH_A, to_warehouse_id=BRANCH_B, qty=7,
                                   transit_days=Decimal("1.5"), requested_by="comprador:1")
    results = [*await sink.apply_batch([transfer, transfer]), *await sink.apply_batch([transfer])]
    assert [r.status for r in results] == ["applied", "duplicate", "duplicate"]
    assert await erp.fetchval("SELECT count(*) FROM stock_transfers WHERE idempotency_key = $1",
                              key) == 1
    row = await erp.fetchrow("SELECT id, qty, status, transit_days, created_by "
                             "FROM stock_transfers WHERE idempotency_key = $1", key)
    assert row["id"] == results[0].entity_ids[0]
    assert (row["qty"], row["status"], row["transit_days"], row["created_by"]) == (
        7, "en_transito", Decimal("1.50"), "comprador:1")
    assert await _stock(erp, product, BRANCH_A) == (before_a[0] - 7, before_a[1])
    assert await _stock(erp, product, BRANCH_B) == (before_b[0], before_b[1] + 7)

    too_many = transfer.model_copy(update={"idempotency_key": f"{key}-big", "qty": 10_000})
    (refused,) = await sink.apply_batch([too_many])
    assert refused.status == "failed" and "fewer than 10000 available" in (refused.error or "")
    assert await _stock(erp, product, BRANCH_A) == (before_a[0] - 7, before_a[1])
