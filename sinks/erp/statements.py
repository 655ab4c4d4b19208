"""The SQL of each ERP command; every statement writes its ledger rows in the same statement.

Each statement inserts into `topllantas.applied_commands` with ON CONFLICT DO NOTHING and returns
`(idempotency_key, result)` only for the keys it recorded: a key it does not return was recorded
by another transaction first, and the caller reports it as a duplicate.

Purchase order drafts and sales orders are set-based: one statement applies a whole run of such
commands (that is what makes the sink fast); with one command it is the per-command statement the
sink uses inside a savepoint. Order ids are drawn from their sequences inside the ledger insert,
so header and line rows are only written for keys that are new.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Literal

import asyncpg

from schemas.commands import (
    AddPurchaseOrderLine,
    AssignDeliveryRoute,
    CreatePurchaseOrderDraft,
    CreateSalesOrder,
    CreateStockTransfer,
    RescheduleDelivery,
    UpdateDeliveryEta,
)
from sinks.db_errors import CommandRejected

LEDGER_WITH_NEW_IDS = """
    led AS (
        INSERT INTO topllantas.applied_commands (idempotency_key, command_type, result)
        SELECT idempotency_key, '{kind}', jsonb_build_object(
            'entity_ids', jsonb_build_array(nextval('public.{sequence}')))
        FROM input ORDER BY ord
        ON CONFLICT (idempotency_key) DO NOTHING
        RETURNING idempotency_key, result, (result->'entity_ids'->>0)::bigint AS id
    )"""

CREATE_PURCHASE_ORDER_DRAFTS = """
WITH input AS (
        SELECT * FROM unnest($1::text[], $2::int[], $3::int[], $4::date[], $5::text[])
            WITH ORDINALITY AS i(idempotency_key, supplier_id, warehouse_id, expected_at,
                                 created_by, ord)
    ),
    input_lines AS (
        SELECT * FROM unnest($6::bigint[], $7::int[], $8::int[], $9::numeric[])
            AS l(ord, product_id, qty, unit_cost)
    ),""" + LEDGER_WITH_NEW_IDS.format(
    kind="create_purchase_order_draft", sequence="purchase_orders_id_seq") + """,
    po AS (
        INSERT INTO public.purchase_orders
            (id, supplier_id, warehouse_id, status, expected_at, created_by, idempotency_key)
        SELECT led.id, i.supplier_id, i.warehouse_id, 'borrador', i.expected_at, i.created_by,
               i.idempotency_key
        FROM led JOIN input i USING (idempotency_key)
        RETURNING id
    ),
    lines AS (
        INSERT INTO public.purchase_order_lines (po_id, product_id, qty, unit_cost)
        SELECT led.id, l.product_id, l.qty, l.unit_cost
        FROM input_lines l JOIN input i USING (ord) JOIN led USING (idempotency_key)
        RETURNING id
    )
SELECT idempotency_key, result, false AS missing_stock FROM led
"""

# The day's draft (order_key) is created by the first line; a concurrent first line of another
# transaction makes this one wait and then find it (the next statement sees it committed).
ENSURE_DRAFT_ORDER = """
INSERT INTO public.purchase_orders (supplier_id, warehouse_id, status, expected_at, created_by,
                                   idempotency_key)
VALUES ($2, $3, 'borrador', $4, $5, $1)
ON CONFLICT (idempotency_key) DO NOTHING
"""

# Ledger first (the line's key), then the line under an id drawn in the ledger insert; only a
# draft still `borrador` takes a line.
ADD_PURCHASE_ORDER_LINE = """
WITH po AS (
        SELECT id, status FROM public.purchase_orders WHERE idempotency_key = $1
    ),
    led AS (
        INSERT INTO topllantas.applied_commands (idempotency_key, command_type, result)
        SELECT $2, 'add_purchase_order_line', jsonb_build_object('entity_ids', jsonb_build_array(
            po.id, nextval('public.purchase_order_lines_id_seq')))
        FROM po WHERE po.status = 'borrador'
        ON CONFLICT (idempotency_key) DO NOTHING
        RETURNING idempotency_key, result
    ),
    line AS (
        INSERT INTO public.purchase_order_lines (id, po_id, product_id, qty, unit_cost)
        SELECT (result->'entity_ids'->>1)::bigint, (result->'entity_ids'->>0)::bigint,
               $3, $4, $5
        FROM led
    )
SELECT (SELECT idempotency_key FROM led) AS idempotency_key,
       (SELECT result FROM led) AS result, (SELECT status FROM po) AS po_status
"""

# The ERP's trigger moves the stock (out of the sender, in transit at the receiver) and refuses
# a sender without the available stock.
CREATE_STOCK_TRANSFER = """
WITH led AS (
        INSERT INTO topllantas.applied_commands (idempotency_key, command_type, result)
        SELECT $1, 'create_stock_transfer', jsonb_build_object(
            'entity_ids', jsonb_build_array(nextval('public.stock_transfers_id_seq')))
        ON CONFLICT (idempotency_key) DO NOTHING
        RETURNING idempotency_key, result, (result->'entity_ids'->>0)::bigint AS id
    ),
    tr AS (
        INSERT INTO public.stock_transfers (id, product_id, from_warehouse_id, to_warehouse_id,
                                            qty, transit_days, created_by, idempotency_key)
        SELECT led.id, $2, $3, $4, $5, $6, $7, $1 FROM led
    )
SELECT idempotency_key, result FROM led
"""

CREATE_SALES_ORDERS = """
WITH input AS (
        SELECT * FROM unnest($1::text[], $2::int[], $3::int[], $4::text[], $5::text[],
                             $6::date[], $7::bool[])
            WITH ORDINALITY AS i(idempotency_key, customer_id, warehouse_id, status, channel,
                                 delivery_date, needs_delivery, ord)
    ),
    input_lines AS (
        SELECT * FROM unnest($8::bigint[], $9::int[], $10::int[], $11::numeric[])
            AS l(ord, product_id, qty, unit_price)
    ),""" + LEDGER_WITH_NEW_IDS.format(
    kind="create_sales_order", sequence="sales_orders_id_seq") + """,
    so AS (
        INSERT INTO public.sales_orders (id, customer_id, warehouse_id, status, channel,
                                         delivery_date, needs_delivery, idempotency_key)
        SELECT led.id, i.customer_id, i.warehouse_id, i.status, i.channel, i.delivery_date,
               i.needs_delivery, i.idempotency_key
        FROM led JOIN input i USING (idempotency_key)
        RETURNING id
    ),
    new_lines AS (
        SELECT led.idempotency_key, led.id, i.warehouse_id, l.product_id, l.qty, l.unit_price
        FROM input_lines l JOIN input i USING (ord) JOIN led USING (idempotency_key)
    ),
    lines AS (
        -- an unknown product keeps its id so the foreign key names it in the error
        INSERT INTO public.sales_order_lines (order_id, product_id, qty, unit_price, unit_cost)
        SELECT n.id, n.product_id, n.qty, n.unit_price, coalesce(p.cost, 0)
        FROM new_lines n LEFT JOIN public.products p ON p.id = n.product_id
        RETURNING id
    ),
    reserved AS (
        UPDATE public.stock s SET reserved = s.reserved + w.qty, updated_at = now()
        FROM (SELECT warehouse_id, product_id, sum(qty)::int AS qty FROM new_lines
              GROUP BY warehouse_id, product_id) w
        WHERE s.product_id = w.product_id AND s.warehouse_id = w.warehouse_id
        RETURNING s.product_id, s.warehouse_id
    ),
    missing AS (
        SELECT DISTINCT n.idempotency_key
        FROM new_lines n LEFT JOIN reserved r USING (product_id, warehouse_id)
        WHERE r.product_id IS NULL
    )
SELECT led.idempotency_key, led.result, m.idempotency_key IS NOT NULL AS missing_stock
FROM led LEFT JOIN missing m USING (idempotency_key)
"""

ASSIGN_DELIVERY_ROUTE = """
WITH stops AS (
        SELECT * FROM unnest($3::bigint[], $4::int[], $5::int[], $6::timestamptz[],
                             $7::timestamptz[]) WITH ORDINALITY
            AS s(sales_order_id, vehicle_id, sequence, eta_start, eta_end, ord)
    ),
    d AS (
        INSERT INTO public.deliveries AS cur (sales_order_id, vehicle_id, route_date, sequence,
                                              eta_start, eta_end, status, updated_at)
        SELECT sales_order_id, vehicle_id, $2, sequence, eta_start, eta_end, 'asignada', now()
        FROM stops
        ON CONFLICT (sales_order_id) DO UPDATE SET
            vehicle_id = EXCLUDED.vehicle_id, route_date = EXCLUDED.route_date,
            sequence = EXCLUDED.sequence, eta_start = EXCLUDED.eta_start,
            eta_end = EXCLUDED.eta_end, status = 'asignada', updated_at = now()
        WHERE cur.status IN ('pendiente', 'asignada')
        RETURNING id, sales_order_id
    ),
    released AS (
        UPDATE public.deliveries SET vehicle_id = NULL, sequence = NULL, eta_start = NULL,
            eta_end = NULL, status = 'pendiente', updated_at = now()
        FROM unnest($8::bigint[], $9::int[]) AS r(sales_order_id, vehicle_id)
        WHERE deliveries.sales_order_id = r.sales_order_id
          AND deliveries.vehicle_id = r.vehicle_id AND deliveries.route_date = $2
          AND deliveries.status = 'asignada'
    ),
    led AS (
        INSERT INTO topllantas.applied_commands (idempotency_key, command_type, result)
        SELECT $1, 'assign_delivery_route', jsonb_build_object(
            'entity_ids', coalesce(jsonb_agg(d.id ORDER BY stops.ord), '[]'::jsonb))
        FROM d JOIN stops USING (sales_order_id)
        HAVING count(*) = cardinality($3::bigint[])
        ON CONFLICT (idempotency_key) DO NOTHING
        RETURNING idempotency_key, result
    )
SELECT idempotency_key, result, (SELECT count(*) FROM d) AS touched FROM led
UNION ALL
SELECT NULL, NULL, (SELECT count(*) FROM d) WHERE NOT EXISTS (SELECT 1 FROM led)
"""

UPDATE_DELIVERY_ETA = """
WITH d AS (
        UPDATE public.deliveries SET eta_start = $3, eta_end = $4, updated_at = now()
        WHERE sales_order_id = $2 AND status IN ('pendiente', 'asignada', 'en_ruta')
        RETURNING id
    ),
    led AS (
        INSERT INTO topllantas.applied_commands (idempotency_key, command_type, result)
        SELECT $1, 'update_delivery_eta', jsonb_build_object('entity_ids', jsonb_agg(id))
        FROM d HAVING count(*) > 0
        ON CONFLICT (idempotency_key) DO NOTHING
        RETURNING idempotency_key, result
    )
SELECT idempotency_key, result, (SELECT count(*) FROM d) AS touched FROM led
UNION ALL
SELECT NULL, NULL, (SELECT count(*) FROM d) WHERE NOT EXISTS (SELECT 1 FROM led)
"""

RESCHEDULE_DELIVERY = """
WITH target AS (
        SELECT o.id FROM public.sales_orders o
        WHERE o.id = $2 AND o.customer_id = $3 AND o.needs_delivery
          AND o.status IN ('reservado', 'confirmado')
          AND NOT EXISTS (SELECT 1 FROM public.deliveries d WHERE d.sales_order_id = o.id
                          AND d.status IN ('en_ruta', 'entregada'))
    ),
    led AS (
        INSERT INTO topllantas.applied_commands (idempotency_key, command_type, result)
        SELECT $1, 'reschedule_delivery', jsonb_build_object('entity_ids', jsonb_agg(id))
        FROM target HAVING count(*) > 0
        ON CONFLICT (idempotency_key) DO NOTHING
        RETURNING idempotency_key, result
    ),
    o AS (
        UPDATE public.sales_orders SET delivery_date = $4
        WHERE id IN (SELECT id FROM target) AND EXISTS (SELECT 1 FROM led)
    ),
    d AS (
        UPDATE public.deliveries SET route_date = $4, vehicle_id = NULL, sequence = NULL,
            eta_start = NULL, eta_end = NULL, status = 'pendiente', updated_at = now()
        WHERE sales_order_id IN (SELECT id FROM target) AND EXISTS (SELECT 1 FROM led)
          AND status IN ('pendiente', 'asignada', 'fallida')
    )
SELECT idempotency_key, result, (SELECT count(*) FROM target) AS touched FROM led
UNION ALL
SELECT NULL, NULL, (SELECT count(*) FROM target) WHERE NOT EXISTS (SELECT 1 FROM led)
"""

Recorded = dict[str, dict]
"""Ledger results of the keys a statement recorded, by idempotency key."""


async def create_purchase_order_drafts(conn: asyncpg.Connection,
                                       cmds: Sequence[CreatePurchaseOrderDraft]) -> Recorded:
    rows = await conn.fetch(
        CREATE_PURCHASE_ORDER_DRAFTS, [c.idempotency_key for c in cmds],
        [c.supplier_id for c in cmds], [c.warehouse_id for c in cmds],
        [c.expected_at for c in cmds], [c.requested_by for c in cmds],
        *_lines(cmds, "unit_cost"))
    return {r["idempotency_key"]: r["result"] for r in rows}


async def add_purchase_order_lines(conn: asyncpg.Connection,
                                   cmds: Sequence[AddPurchaseOrderLine]) -> Recorded:
    """The line joins the day's draft of its supplier and branch (created by the first line)."""
    (cmd,) = cmds
    line = cmd.line
    await conn.execute(ENSURE_DRAFT_ORDER, cmd.order_key, cmd.supplier_id, cmd.warehouse_id,
                       cmd.expected_at, cmd.requested_by)
    row = await conn.fetchrow(ADD_PURCHASE_ORDER_LINE, cmd.order_key, cmd.idempotency_key,
                              line.product_id, line.qty, line.unit_cost)
    assert row is not None  # the statement always returns one row
    if row["po_status"] != "borrador":
        raise CommandRejected(f"purchase order {cmd.order_key} is {row['po_status']}, no longer "
                              "a draft: it takes no more lines")
    return {row["idempotency_key"]: row["result"]} if row["result"] is not None else {}


async def create_stock_transfer(conn: asyncpg.Connection,
                                cmds: Sequence[CreateStockTransfer]) -> Recorded:
    (cmd,) = cmds
    rows = await conn.fetch(CREATE_STOCK_TRANSFER, cmd.idempotency_key, cmd.product_id,
                            cmd.from_warehouse_id, cmd.to_warehouse_id, cmd.qty,
                            cmd.transit_days, cmd.requested_by)
    return {r["idempotency_key"]: r["result"] for r in rows}


async def create_sales_orders(conn: asyncpg.Connection,
                              cmds: Sequence[CreateSalesOrder]) -> Recorded:
    rows = await conn.fetch(
        CREATE_SALES_ORDERS, [c.idempotency_key for c in cmds], [c.customer_id for c in cmds],
        [c.warehouse_id for c in cmds], [c.status for c in cmds], [c.channel for c in cmds],
        [c.delivery_date for c in cmds], [c.needs_delivery for c in cmds],
        *_lines(cmds, "unit_price"))
    missing = sorted(r["idempotency_key"] for r in rows if r["missing_stock"])
    if missing:
        raise CommandRejected(
            "no stock record to reserve against for some (product, warehouse) of "
            + ", ".join(missing[:5]))
    return {r["idempotency_key"]: r["result"] for r in rows}


async def assign_delivery_route(conn: asyncpg.Connection,
                                cmds: Sequence[AssignDeliveryRoute]) -> Recorded:
    (cmd,) = cmds
    _check_windows((stop.eta_start, stop.eta_end) for stop in cmd.stops)
    stops = cmd.stops
    row = await conn.fetchrow(
        ASSIGN_DELIVERY_ROUTE, cmd.idempotency_key, cmd.route_date,
        [s.sales_order_id for s in stops], [s.vehicle_id for s in stops],
        [s.sequence for s in stops], [s.eta_start for s in stops], [s.eta_end for s in stops],
        [r.sales_order_id for r in cmd.released], [r.vehicle_id for r in cmd.released])
    assert row is not None  # the statement always returns one row
    if row["touched"] != len(stops):
        raise CommandRejected(
            "some deliveries of sales orders "
            f"{sorted(s.sales_order_id for s in stops)} are already en_ruta/entregada/fallida")
    return {row["idempotency_key"]: row["result"]} if row["result"] is not None else {}


async def update_delivery_eta(conn: asyncpg.Connection,
                              cmds: Sequence[UpdateDeliveryEta]) -> Recorded:
    (cmd,) = cmds
    _check_windows([(cmd.eta_start, cmd.eta_end)])
    row = await conn.fetchrow(UPDATE_DELIVERY_ETA, cmd.idempotency_key, cmd.sales_order_id,
                              cmd.eta_start, cmd.eta_end)
    assert row is not None  # the statement always returns one row
    if row["touched"] == 0:
        raise CommandRejected(f"no open delivery for sales order {cmd.sales_order_id}")
    return {row["idempotency_key"]: row["result"]} if row["result"] is not None else {}


async def reschedule_delivery(conn: asyncpg.Connection,
                              cmds: Sequence[RescheduleDelivery]) -> Recorded:
    """The order's delivery date and its delivery row move together (ledger first, so a key
    recorded by another transaction changes nothing); an order already on its way, delivered,
    cancelled, not for delivery or not the customer's is rejected."""
    (cmd,) = cmds
    row = await conn.fetchrow(RESCHEDULE_DELIVERY, cmd.idempotency_key, cmd.sales_order_id,
                              cmd.customer_id, cmd.delivery_date)
    assert row is not None  # the statement always returns one row
    if row["touched"] == 0:
        raise CommandRejected(f"sales order {cmd.sales_order_id} of customer {cmd.customer_id} "
                              "has no delivery that can still be rescheduled")
    return {row["idempotency_key"]: row["result"]} if row["result"] is not None else {}


def _lines(cmds: Sequence[CreatePurchaseOrderDraft] | Sequence[CreateSalesOrder],
           price: Literal["unit_cost", "unit_price"],
           ) -> tuple[list[int], list[int], list[int], list[Decimal]]:
    """Flattened line arrays (order ordinal 1-based, product, qty, price) for the statements."""
    ords: list[int] = []
    products: list[int] = []
    qtys: list[int] = []
    prices: list[Decimal] = []
    for ordinal, cmd in enumerate(cmds, start=1):
        for line in cmd.lines:
            ords.append(ordinal)
            products.append(line.product_id)
            qtys.append(line.qty)
            prices.append(getattr(line, price))
    return ords, products, qtys, prices


def _check_windows(windows: Iterable[tuple[datetime, datetime]]) -> None:
    for start, end in windows:
        if end < start:
            raise CommandRejected(f"eta_end {end.isoformat()} is before eta_start "
                                  f"{start.isoformat()}")
