"""The ERP sink on the real PostgreSQL: idempotency, rejects that fail alone, a frozen ERP."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import asyncpg
import psutil
import pytest

from schemas.commands import (
    AssignDeliveryRoute,
    CreatePurchaseOrderDraft,
    CreateSalesOrder,
    PurchaseLine,
    ReleasedStop,
    RouteStop,
    SalesLine,
    UpdateDeliveryEta,
)
from sinks.backoff import Backoff
from sinks.erp import ErpSink
from tests.stack_fixture import TestStack

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC)
WAREHOUSE, SUPPLIER, CUSTOMER, VEHICLE = 9101, 9101, 9101, 9101
PRODUCTS = [9101, 9102, 9103]

SEED = f"""
INSERT INTO brands VALUES (9101, 'Marca sink', 'media') ON CONFLICT DO NOTHING;
INSERT INTO categories VALUES (9101, 'Categoría sink') ON CONFLICT DO NOTHING;
INSERT INTO suppliers (id, name, lead_time_days) VALUES ({SUPPLIER}, 'Proveedor sink', 5)
    ON CONFLICT DO NOTHING;
INSERT INTO warehouses VALUES ({WAREHOUSE}, 'SNK', 'Sucursal sink', 'Puebla', 'Puebla',
    19.04, -98.2, true) ON CONFLICT DO NOTHING;
INSERT INTO products (id, sku, brand_id, category_id, supplier_id, model, width, aspect_ratio,
    rim, tire_size, load_index, speed_index, cost, list_price, weight_kg)
    SELECT g, 'SNK-' || g, 9101, 9101, {SUPPLIER}, 'Modelo', 205, 55, 16, '205/55R16', 91, 'V',
           1000, 1500, 9
    FROM unnest(ARRAY{PRODUCTS}) g ON CONFLICT DO NOTHING;
INSERT INTO stock (product_id, warehouse_id, on_hand)
    SELECT g, {WAREHOUSE}, 1000 FROM unnest(ARRAY{PRODUCTS}) g ON CONFLICT DO NOTHING;
INSERT INTO customers (id, name, tier, address, city, state, lat, lon)
    VALUES ({CUSTOMER}, 'Taller sink', 'taller', 'Calle 1', 'Puebla', 'Puebla', 19, -98)
    ON CONFLICT DO NOTHING;
INSERT INTO vehicles (id, warehouse_id, plate, capacity_tires, capacity_kg)
    VALUES ({VEHICLE}, {WAREHOUSE}, 'SNK-001', 80, 1500) ON CONFLICT DO NOTHING;
"""


@pytest.fixture(scope="module")
async def erp(stack: TestStack) -> AsyncIterator[asyncpg.Connection]:
    """The ERP as its owner, with this module's reference rows in place."""
    conn = await asyncpg.connect(stack.erp_dsn)
    await conn.execute(SEED)
    yield conn
    await conn.close()


@pytest.fixture
async def sink(stack: TestStack) -> AsyncIterator[ErpSink]:
    async with ErpSink(stack.sink_dsn, statement_timeout_s=2.0,
                       backoff=Backoff(base_s=0.1, cap_s=1.0)) as running:
        yield running


def _signal_erp(postmaster_pid: int, sig: signal.Signals) -> None:
    """Signal the postmaster and every backend (PostgreSQL puts each child in its own session)."""
    for process in [psutil.Process(postmaster_pid),
                    *psutil.Process(postmaster_pid).children(recursive=True)]:
        os.kill(process.pid, sig)


def _key(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:10]}"


def _sales_order(key: str, product: int = PRODUCTS[0], qty: int = 2) -> CreateSalesOrder:
    return CreateSalesOrder(idempotency_key=key, issued_at=NOW, customer_id=CUSTOMER,
                            warehouse_id=WAREHOUSE, status="reservado", needs_delivery=True,
                            lines=[SalesLine(product_id=product, qty=qty,
                                             unit_price=Decimal("1499.00"))])


async def _reserved(erp: asyncpg.Connection, product: int = PRODUCTS[0]) -> int:
    return await erp.fetchval("SELECT reserved FROM stock WHERE product_id = $1 AND "
                              "warehouse_id = $2", product, WAREHOUSE)


async def test_same_command_three_times_writes_once(erp: asyncpg.Connection,
                                                    sink: ErpSink) -> None:
    reserved_before = await _reserved(erp)
    so = _sales_order(_key("so"), qty=3)
    po = CreatePurchaseOrderDraft(
        idempotency_key=_key("po"), issued_at=NOW, supplier_id=SUPPLIER, warehouse_id=WAREHOUSE,
        lines=[PurchaseLine(product_id=p, qty=40, unit_cost=Decimal("950.50")) for p in PRODUCTS])
    results = [await sink.apply_batch([so, po]) for _ in range(3)]
    assert [[r.status for r in batch] for batch in results] == [
        ["applied", "applied"], ["duplicate", "duplicate"], ["duplicate", "duplicate"]]
    order_id, po_id = results[0][0].entity_ids[0], results[0][1].entity_ids[0]
    assert all(batch[0].entity_ids == [order_id] for batch in results)
    assert all(batch[1].entity_ids == [po_id] for batch in results)

    order = await erp.fetchrow("SELECT * FROM sales_orders WHERE idempotency_key = $1",
                               so.idempotency_key)
    assert (order["id"], order["status"], order["channel"]) == (order_id, "reservado",
                                                               "whatsapp")
    lines = await erp.fetch("SELECT qty, unit_price, unit_cost FROM sales_order_lines "
                            "WHERE order_id = $1", order_id)
    assert [(r["qty"], r["unit_price"], r["unit_cost"]) for r in lines] == [
        (3, Decimal("1499.00"), Decimal("1000.00"))]
    assert await _reserved(erp) == reserved_before + 3
    draft = await erp.fetchrow("SELECT status, created_by FROM purchase_orders WHERE id = $1",
                               po_id)
    assert (draft["status"], draft["created_by"]) == ("borrador", "topllantas")
    assert await erp.fetchval("SELECT count(*) FROM purchase_order_lines WHERE po_id = $1",
                              po_id) == 3

    route = AssignDeliveryRoute(
        idempotency_key=_key("route"), issued_at=NOW, route_date=date.today(),
        stops=[RouteStop(sales_order_id=order_id, vehicle_id=VEHICLE, sequence=1,
                         eta_start=NOW + timedelta(hours=2), eta_end=NOW + timedelta(hours=3))])
    eta = UpdateDeliveryEta(idempotency_key=_key("eta"), issued_at=NOW, sales_order_id=order_id,
                            eta_start=NOW + timedelta(hours=4), eta_end=NOW + timedelta(hours=5))
    for expected in ("applied", "duplicate", "duplicate"):
        assert [r.status for r in await sink.apply_batch([route, eta])] == [expected, expected]
    delivery = await erp.fetchrow("SELECT * FROM deliveries WHERE sales_order_id = $1", order_id)
    assert (delivery["status"], delivery["vehicle_id"], delivery["sequence"]) == (
        "asignada", VEHICLE, 1)
    assert delivery["eta_start"] == NOW + timedelta(hours=4)
    assert await erp.fetchval("SELECT count(*) FROM topllantas.applied_commands WHERE "
                              "idempotency_key = ANY($1::text[])",
                              [so.idempotency_key, po.idempotency_key, route.idempotency_key,
                               eta.idempotency_key]) == 4

    # a later plan of the day takes the order off its route (cancelled, or left unassigned)
    elsewhere = AssignDeliveryRoute(  # on another vehicle, or another day: not ours to undo
        idempotency_key=_key("route-release-other"), issued_at=NOW, route_date=date.today(),
        released=[ReleasedStop(sales_order_id=order_id, vehicle_id=VEHICLE + 1)])
    other_day = AssignDeliveryRoute(
        idempotency_key=_key("route-release-day"), issued_at=NOW,
        route_date=date.today() + timedelta(days=1),
        released=[ReleasedStop(sales_order_id=order_id, vehicle_id=VEHICLE)])
    assert [r.status for r in await sink.apply_batch([elsewhere, other_day])] == [
        "applied", "applied"]
    assert tuple(await erp.fetchrow("SELECT status, vehicle_id FROM deliveries "
                                    "WHERE sales_order_id = $1", order_id)) == (
        "asignada", VEHICLE)
    release = AssignDeliveryRoute(
        idempotency_key=_key("route-release"), issued_at=NOW, route_date=date.today(),
        released=[ReleasedStop(sales_order_id=order_id, vehicle_id=VEHICLE)])
    for expected in ("applied", "duplicate"):
        assert [r.status for r in await sink.apply_batch([release])] == [expected]
    delivery = await erp.fetchrow("SELECT * FROM deliveries WHERE sales_order_id = $1", order_id)
    assert (delivery["status"], delivery["vehicle_id"], delivery["sequence"],
            delivery["eta_start"]) == ("pendiente", None, None, None)


async def test_rejected_commands_fail_alone(erp: asyncpg.Connection, sink: ErpSink) -> None:
    good = [_sales_order(_key("ok")) for _ in range(3)]
    unknown_product = _sales_order(_key("bad-product"), product=987654)
    no_delivery = UpdateDeliveryEta(idempotency_key=_key("bad-eta"), issued_at=NOW,
                                    sales_order_id=123, eta_start=NOW, eta_end=NOW)
    batch = [good[0], unknown_product, good[1], no_delivery, good[2], good[2]]
    results = await sink.apply_batch(batch)
    assert [r.status for r in results] == [
        "applied", "failed", "applied", "failed", "applied", "duplicate"]
    assert "987654" in (results[1].error or "") and "products" in (results[1].error or "")
    assert "no open delivery" in (results[3].error or "")
    keys = [c.idempotency_key for c in batch]
    assert await erp.fetchval("SELECT count(*) FROM sales_orders WHERE idempotency_key = "
                              "ANY($1::text[])", keys) == 3
    assert await erp.fetchval("SELECT count(*) FROM topllantas.applied_commands WHERE "
                              "idempotency_key = ANY($1::text[])", keys) == 3
    # the failed ones were not recorded: once fixed, they can still be applied
    assert [r.status for r in await sink.apply_batch([unknown_product])] == ["failed"]


async def test_frozen_erp_for_20_s_loses_nothing_and_keeps_order(
        stack: TestStack, erp: asyncpg.Connection, sink: ErpSink) -> None:
    assert stack.postgres_pid, "needs the embedded PostgreSQL to freeze it"
    seed = await sink.apply_batch([_sales_order(_key("frozen-seed"))])
    order_id = seed[0].entity_ids[0]
    await erp.execute(
        "INSERT INTO deliveries (sales_order_id, route_date, status) VALUES ($1, $2, 'asignada')",
        order_id, date.today())
    reserved_before = await _reserved(erp, PRODUCTS[1])
    run = uuid.uuid4().hex[:8]
    batches = [[*(_sales_order(f"frozen-{run}-{i}-{j}", product=PRODUCTS[1], qty=1)
                  for j in range(5)),
                UpdateDeliveryEta(idempotency_key=f"frozen-eta-{run}-{i}", issued_at=NOW,
                                  sales_order_id=order_id,
                                  eta_start=NOW + timedelta(minutes=i),
                                  eta_end=NOW + timedelta(minutes=i + 30))]
               for i in range(60)]

    async def stream() -> list[list[str]]:
        statuses = []
        for batch in batches:
            statuses.append([r.status for r in await sink.apply_batch(batch)])
            await asyncio.sleep(0.05)
        return statuses

    flowing = asyncio.create_task(stream())
    await asyncio.sleep(0.6)
    _signal_erp(stack.postgres_pid, signal.SIGSTOP)
    try:
        await asyncio.sleep(20)
        assert not flowing.done(), "the sink must wait for the ERP, not give up"
    finally:
        _signal_erp(stack.postgres_pid, signal.SIGCONT)
    statuses = await asyncio.wait_for(flowing, 30)
    assert all(s == "applied" for batch in statuses for s in batch)
    # a redelivery of everything (the consumer restarted from an old offset) writes nothing
    redelivered = [await sink.apply_batch(batch) for batch in batches]
    assert all(r.status == "duplicate" for batch in redelivered for r in batch)

    rows = await erp.fetch("SELECT id, idempotency_key FROM sales_orders WHERE idempotency_key "
                           "LIKE $1 ORDER BY id", f"frozen-{run}-%")
    assert len(rows) == 300
    keys_in_id_order = [tuple(int(x) for x in r["idempotency_key"].split("-")[2:]) for r in rows]
    assert keys_in_id_order == sorted(keys_in_id_order), "applied out of order"
    assert await _reserved(erp, PRODUCTS[1]) == reserved_before + 300
    eta_start = await erp.fetchval("SELECT eta_start FROM deliveries WHERE sales_order_id = $1",
                                   order_id)
    assert eta_start == NOW + timedelta(minutes=59), "the last ETA update must win"
