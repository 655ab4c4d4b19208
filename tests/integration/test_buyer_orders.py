"""Buyer orders on the real stack (issue 24 items 3 and 4).

Sink level (the session's stack, no worker): the day's draft order takes one line per approval
and the same approval twice is one line; a draft no longer `borrador` takes no more lines; a
transfer is one row however often it is applied, moves the stock the ERP's way, and is refused
without available stock.

End to end (its own ERP, CDC, one worker with the sink agents, the WhatsApp double): surplus in
branch 2 and a critical in branch 1 → the alert carries a transfer; `Aprobar` twice → one
transfer row, and the stock moves through CDC into both branches' positions; three approvals of
one supplier's items in one branch → one draft order with three lines, and below the supplier's
minimum the reply says so and proposes topping up.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import orjson
import pytest

from ops.erp.generate import generate_catalogue
from ops.erp.seed import seed_erp
from ops.stack.processes import free_port
from ops.supervisor import Supervisor, wait_for
from ops.topics_admin import apply_catalogue
from schemas.commands import AddPurchaseOrderLine, CreateStockTransfer, PurchaseLine
from schemas.timezones import MEXICO_CITY
from sinks.backoff import Backoff
from sinks.erp import ErpSink
from tests import stack_fixture
from tests.integration.conftest import process_env
from tests.integration.kafka_read import read_all
from tests.integration.test_stock_flow import Flow, decode_command, reply_to, tap
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


# --------------------------------------------------------------------------- end to end

BUYER_PHONE = "5218110000001"  # buyer 1 of the generated catalogue, who buys brand 1
SHORT, DONOR = 1, 2  # branches
MOVED = 9301  # sold in both branches; branch 2 holds a surplus, branch 1 runs short
ORDERED = [9311, 9312, 9313]  # three critical items of supplier 1 in branch 1, approved
TOP_UP = 9314  # a fourth one, not approved: the top-up the reply proposes
KEYS = [(MOVED, SHORT), (MOVED, DONOR), *((p, SHORT) for p in [*ORDERED, TOP_UP])]
E2E_ROWS = f"""
UPDATE suppliers SET min_order_value = 2000000, free_freight_value = 3000000 WHERE id = 1;
INSERT INTO products (id, sku, brand_id, category_id, supplier_id, model, width, aspect_ratio,
    rim, tire_size, load_index, speed_index, cost, list_price, weight_kg, abc_class)
    SELECT DISTINCT p, 'ORD-TEST-' || p, 1, 1, 1, 'Modelo ' || p, 205, 55, 16, '205/55R16', 91,
           'V', 1000, 1500, 9, 'A'
    FROM (VALUES {", ".join(f"({p}, {w})" for p, w in KEYS)}) AS k(p, w);
INSERT INTO stock (product_id, warehouse_id, on_hand)
    SELECT p, w, 500 FROM (VALUES {", ".join(f"({p}, {w})" for p, w in KEYS)}) AS k(p, w);
"""
HISTORY = f"""
WITH days AS (SELECT p, w, k FROM (VALUES {", ".join(f"({p}, {w})" for p, w in KEYS)})
                                  AS pw(p, w), generate_series(0, 29) k),
orders AS (
    INSERT INTO sales_orders (customer_id, warehouse_id, status, created_at)
    SELECT 1, w, 'entregado', now() - make_interval(days => k, hours => 1)
    FROM days ORDER BY p, w, k RETURNING id),
numbered AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM orders),
lines AS (SELECT p, row_number() OVER (ORDER BY p, w, k) AS n FROM days)
INSERT INTO sales_order_lines (order_id, product_id, qty, unit_price, unit_cost)
SELECT numbered.id, lines.p, 10, 1500, 1000 FROM numbered JOIN lines USING (n);
"""


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flow]:
    """The test keys' 30 days of sales (10 a day) are committed once CDC's snapshot is done, so
    they stream in as live changes and each key is decided at once: no waiting for the
    snapshot to settle."""
    with stack_fixture.test_stack() as stack:
        catalogue = generate_catalogue(seed=5, n_products=10, n_customers=10, days=7)
        asyncio.run(seed_erp(stack.erp_dsn, catalogue=catalogue))
        asyncio.run(_execute(stack.erp_dsn, E2E_ROWS))
        apply_catalogue(stack.settings())
        whatsapp = str(free_port())
        env = process_env(stack, WHATSAPP_BASE_URL=f"http://127.0.0.1:{whatsapp}")
        with Supervisor({}, tmp_path_factory.mktemp("buyer-orders-logs")) as supervisor:
            supervisor.start("whatsapp", "-m", "ops.doubles.whatsapp_double", "--port",
                             whatsapp, "--pair-interval", "0", env=env)
            supervisor.start("cdc", "cdc", "run", env=env)
            supervisor.start("worker", "worker", env=env)
            wait_for(lambda: asyncio.run(_snapshot_done(stack.erp_dsn)), 60, "CDC's snapshot",
                     interval=0.2)
            asyncio.run(_execute(stack.erp_dsn, HISTORY))
            wait_for(lambda: _demand_loaded(stack.bootstrap_servers), 120,
                     "the test keys' live demand", interval=0.5)
            time.sleep(2)  # the stock agent reads what the demand flow just wrote
            yield Flow(stack, supervisor, env, whatsapp)


async def _snapshot_done(dsn: str) -> bool:
    try:
        return bool(await _fetch(dsn, "SELECT 1 FROM topllantas.cdc_snapshots"))
    except asyncpg.UndefinedTableError:  # CDC has not started yet
        return False


def _demand_loaded(bootstrap: str) -> bool:
    totals = {(d["product_id"], d["warehouse_id"]): (sum(d["days"].values()), d["snapshot"])
              for d in map(_value, read_all(bootstrap, ["demand.daily"], idle=0.3))}
    return all(totals.get(key) == (300, False) for key in KEYS)


async def _execute(dsn: str, sql: str, *args: object) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql, *args)
    finally:
        await conn.close()


async def _fetch(dsn: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


def _set_stock(flow: Flow, product_id: int, on_hand: int) -> None:
    asyncio.run(_execute(flow.stack.erp_dsn, "UPDATE stock SET on_hand = $3, updated_at = now() "
                         "WHERE product_id = $1 AND warehouse_id = $2", product_id, SHORT, on_hand))


def _critical(flow: Flow, product_id: int) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        return next((a for a in map(_value, flow.read("alerts.stock"))
                     if a["product_id"] == product_id and a["warehouse_id"] == SHORT
                     and a["level"] == "critico" and not a["resolved"]), None)
    return wait_for(found, 120, f"the critical alert of {product_id}", interval=0.5)


def _value(record: Any) -> dict[str, Any]:
    return orjson.loads(record.value) if record.value else {}


def test_surplus_elsewhere_is_proposed_as_a_transfer_approved_once_and_moved_by_cdc(
        flow: Flow) -> None:
    # A live change of the donor, decided with its history: its surplus is recorded.
    asyncio.run(_execute(flow.stack.erp_dsn, "UPDATE stock SET on_hand = 499, updated_at = "
                         "now() WHERE product_id = $1 AND warehouse_id = $2", MOVED, DONOR))
    time.sleep(2)
    _set_stock(flow, MOVED, 30)  # below d̄·L = 40 in branch 1; branch 2 holds 499
    alert = _critical(flow, MOVED)
    transfer = alert["transfer"]
    assert transfer is not None and transfer["from_warehouse_id"] == DONOR
    qty = transfer["qty"]
    assert qty == alert["proposed_qty"] and transfer["purchase_qty"] == 0  # surplus covers all
    assert 499 - qty >= alert["order_up_to"]  # the donor keeps its own order-up-to level
    assert transfer["text"].startswith(f"Traspaso sugerido: {qty} pzas de ")

    button = f"approve:{alert['alert_id']}"
    tap(flow, BUYER_PHONE, "wamid.transfer-1", button)
    tap(flow, BUYER_PHONE, "wamid.transfer-2", button)
    first, second = reply_to(flow, "wamid.transfer-1"), reply_to(flow, "wamid.transfer-2")
    assert first["text"].startswith(f"🔁 Traspaso solicitado: {qty} pzas de ")
    assert "no hace falta comprar" in first["text"]
    assert "No encontré una propuesta pendiente" in second["text"]
    key = f"tr:{alert['alert_id']}"
    rows = wait_for(lambda: asyncio.run(_fetch(
        flow.stack.erp_dsn, "SELECT from_warehouse_id, to_warehouse_id, qty, status "
        "FROM stock_transfers WHERE idempotency_key = $1", key)), 60, "the transfer row")
    assert [tuple(r) for r in rows] == [(DONOR, SHORT, qty, "en_transito")]
    commands = [decode_command(r.value) for r in flow.read("erp.commands")
                if decode_command(r.value).idempotency_key == key]
    assert len(commands) == 1

    async def apply_again() -> set[str]:  # a redelivery straight into the ERP sink
        async with ErpSink(flow.stack.sink_dsn) as sink:
            return {r.status for r in await sink.apply_batch(commands * 2)}

    assert asyncio.run(apply_again()) == {"duplicate"}
    assert len(asyncio.run(_fetch(flow.stack.erp_dsn, "SELECT 1 FROM stock_transfers WHERE "
                                  "idempotency_key = $1", key))) == 1

    def positions() -> dict[int, dict[str, Any]] | None:
        latest = {p["warehouse_id"]: p for p in map(_value, flow.read("inventory.position"))
                  if p.get("product_id") == MOVED}
        moved = (latest.get(SHORT, {}).get("in_transit") == qty
                 and latest.get(DONOR, {}).get("on_hand") == 499 - qty)
        return latest if moved else None

    latest = wait_for(positions, 60, "the transfer in both branches' positions", interval=0.5)
    assert latest[SHORT]["on_hand"] == 30 and latest[DONOR]["in_transit"] == 0
    resolved = wait_for(lambda: next((a for a in map(_value, flow.read("alerts.stock"))
                                      if a["event_id"] == f"{alert['alert_id']}-resuelta"), None),
                        60, "the alert to resolve with the stock in transit", interval=0.5)
    assert resolved["in_transit"] == qty


def test_three_approvals_join_one_draft_order_below_the_minimum_with_a_top_up(
        flow: Flow) -> None:
    for product_id in [*ORDERED, TOP_UP]:
        _set_stock(flow, product_id, 30)
    alerts = {p: _critical(flow, p) for p in [*ORDERED, TOP_UP]}
    assert all(a["transfer"] is None for a in alerts.values())  # no other branch has any
    for n, product_id in enumerate(ORDERED, start=1):
        tap(flow, BUYER_PHONE, f"wamid.order-{n}", f"approve:{alerts[product_id]['alert_id']}")
        time.sleep(0.2)  # one tap after the other, as a buyer taps
    replies = [reply_to(flow, f"wamid.order-{n}")["text"] for n in (1, 2, 3)]
    day = datetime.now(UTC).astimezone(MEXICO_CITY).date().isoformat()
    order_key = f"po:1:{SHORT}:{day}"
    for n, text in enumerate(replies, start=1):
        assert text.startswith("✅ Agregué ") and f"Modelo {ORDERED[n - 1]}" in text, text
        assert f"pedido borrador {order_key} de " in text
        assert f": {n} línea{'s' if n > 1 else ''}, " in text
    last = replies[-1]
    assert "⚠️ Aún no llega al mínimo" in last and "($2,000,000.00)" in last
    assert f"Modelo {TOP_UP}" in last.split("te propongo agregar:")[1]
    assert "«aprobar todo" in last

    def lines() -> list[asyncpg.Record] | None:
        rows = asyncio.run(_fetch(
            flow.stack.erp_dsn, "SELECT po.status, l.product_id, l.qty FROM purchase_orders po "
            "JOIN purchase_order_lines l ON l.po_id = po.id WHERE po.idempotency_key = $1 "
            "ORDER BY l.product_id", order_key))
        return rows if len(rows) >= 3 else None

    rows = wait_for(lines, 60, "the draft order's three lines")
    assert [(r["status"], r["product_id"], r["qty"]) for r in rows] == [
        ("borrador", p, alerts[p]["proposed_qty"]) for p in ORDERED]
    assert len(asyncio.run(_fetch(flow.stack.erp_dsn, "SELECT 1 FROM purchase_orders WHERE "
                                  "supplier_id = 1 AND warehouse_id = $1 AND status = 'borrador' "
                                  "AND idempotency_key LIKE 'po:1:%'", SHORT))) == 1
