"""Inventory position per product×warehouse from CDC (stock rows + open purchase order lines).

erp.public.purchase_orders ┐
erp.public.purchase_order_lines ┴─> inventory.po_events (by PO) ─> inventory.on_order ┐
erp.public.stock ──────────────────────────────────────────────────────────────────────┴─>
    table `inventory` ─> inventory.position (when the position changed, or the key is new)

The last step runs in the stock-alert agent (`update_inventory`), which evaluates the key's
alert from the new position in the same step.
"""

from __future__ import annotations

from typing import NamedTuple

import faust
import orjson

from processors.change_events import BadEvent, decode_change
from processors.inventory.position import (
    InventoryState,
    PurchaseOrderState,
    apply_on_order,
    apply_po_change,
    apply_stock_change,
)
from schemas.events import InventoryPosition, OnOrderLine, stock_table_key
from streams.app import app, catalogue
from streams.dead_letters import decoded
from streams.metrics import EVENTS
from streams.table_pages import elsewhere
from streams.topics import raw_source, raw_topic

INVENTORY_EVENTS = EVENTS.labels(agent="inventory")

STOCK = catalogue.cdc_topic("stock").name
PO = catalogue.cdc_topic("purchase_orders").name
PO_LINES = catalogue.cdc_topic("purchase_order_lines").name
TABLE_OF = {STOCK: "stock", PO: "purchase_orders", PO_LINES: "purchase_order_lines"}

po_source = raw_source(PO, PO_LINES)
po_events = raw_topic("inventory.po_events")
on_order = raw_topic("inventory.on_order")
INVENTORY_TOPICS = (STOCK, "inventory.on_order")  # read by the stock-alert agent
positions = raw_topic("inventory.position")

po_table = app.Table(
    "po_state", default=None, partitions=catalogue["inventory.po_events"].partitions
)
inventory = app.Table("inventory", default=None, partitions=catalogue[STOCK].partitions)


def stock_key(product_id: int, warehouse_id: int) -> bytes:
    """Byte-identical to the CDC key of `stock`, so both topics are co-partitioned."""
    return orjson.dumps({"product_id": product_id, "warehouse_id": warehouse_id})


@app.agent(po_source)
async def route_purchase_orders(stream):  # type: ignore[no-untyped-def]
    """Re-key purchase order headers and lines by PO id."""
    async for event in stream.events():
        topic = event.message.topic
        change = await decoded(event, "inventory.po_router", decode_change, TABLE_OF[topic])
        if change is None:
            continue
        row = change.row
        po_id = row["id"] if change.table == "purchase_orders" else row["po_id"]
        await po_events.send(key=orjson.dumps({"po_id": po_id}), value=event.value)
        EVENTS.labels(agent="po_router").inc()


@app.agent(po_events)
async def track_purchase_orders(stream):  # type: ignore[no-untyped-def]
    """Open quantity per purchase order line, from its header's status and its receipts."""
    async for event in stream.events():
        change = await decoded(event, "inventory.po_state", decode_change)
        if change is None:
            continue
        key = event.key.decode()
        state = PurchaseOrderState.from_dict(po_table.get(key))
        lines = apply_po_change(state, change.table, change.op, change.row)
        po_table[key] = state.to_dict()
        for line in lines:
            await on_order.send(
                key=stock_key(line.product_id, line.warehouse_id),
                value=line.model_dump_json().encode(),
            )
        EVENTS.labels(agent="po_state").inc()


class InventoryUpdate(NamedTuple):
    """The key's position after a record, whether its quantities changed, and whether the
    record was a CDC snapshot row (a fresh start's or a `cdc resnapshot`'s)."""

    position: InventoryPosition
    changed: bool
    snapshot: bool = False


async def update_inventory(event: faust.EventT, product_id: int, warehouse_id: int
                           ) -> InventoryUpdate | None:
    """A stock or on-order record (`INVENTORY_TOPICS`) of the key `parse_stock_key` read into
    the `inventory` table. Returns the key's position, whether its quantities changed and
    whether the record was a snapshot row; None when the record carried no change. The position
    is published on `inventory.position` when its quantities changed or the key is new.

    Runs inside the stock-alert agent (streams/stock_alerts.py), which decides the key's alert
    from the position at once: one agent per stock key, no hop through the broker.
    Raises BadEvent / ValidationError / ValueError on a malformed record, before writing.
    """
    key = stock_table_key(product_id, warehouse_id)
    stored = inventory.get(key)
    state = (InventoryState.from_dict(stored) if stored
             else InventoryState(product_id, warehouse_id))
    before = state.quantities()
    snapshot = False
    if event.message.topic == STOCK:
        change = decode_change(event.value, "stock")
        if change is None:
            return None
        apply_stock_change(state, change.op, change.row, change.lsn)
        snapshot = change.op == "r"
    else:
        apply_on_order(state, OnOrderLine.model_validate_json(event.value))
    inventory[key] = state.to_dict()
    INVENTORY_EVENTS.inc()
    position = state.position()
    changed = state.quantities() != before
    if changed or stored is None:  # a key seen first with nothing in stock is published too
        await positions.send(key=event.key, value=position.model_dump_json().encode())
    return InventoryUpdate(position, changed, snapshot)


def parse_stock_key(raw: bytes | None) -> tuple[int, int]:
    """(product_id, warehouse_id) of a stock key (`stock_key`); BadEvent when malformed."""
    try:
        parsed = orjson.loads(raw or b"")
        return int(parsed["product_id"]), int(parsed["warehouse_id"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        raise BadEvent(f"bad stock key {(raw or b'')[:100]!r}") from None


@app.page("/inventory/{product_id}/{warehouse_id}/")
async def inventory_position(web, request, product_id: str, warehouse_id: str):  # type: ignore[no-untyped-def]
    """The position of one product in one warehouse, from the worker that owns its partition
    (another worker redirects there: streams/table_pages.py)."""
    if not (product_id.isdigit() and warehouse_id.isdigit()):
        return web.json({"error": "unknown product/warehouse"}, status=404)
    redirect = elsewhere(web, request, inventory, stock_key(int(product_id), int(warehouse_id)))
    if redirect is not None:
        return redirect
    stored = inventory.get(f"{int(product_id)}:{int(warehouse_id)}")
    if stored is None:
        return web.json({"error": "unknown product/warehouse"}, status=404)
    return web.json(orjson.loads(InventoryState.from_dict(stored).position().model_dump_json()))
