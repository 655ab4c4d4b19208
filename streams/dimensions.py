"""Dimension rows from CDC, for every flow that needs them: products, brands, suppliers, buyers,
warehouses and supplier price breaks, as GlobalTables (every worker holds them whole).

erp.public.supplier_price_breaks ─> dimensions.price_breaks (by product) ─> table
    `price_break_sets` (partitioned) ─> GlobalTable `dim_price_breaks`
erp.public.{products,brands,suppliers,buyers,warehouses} ─> GlobalTables `dim_*`

Price breaks are re-keyed by product and gathered per product in a partitioned table first: a
GlobalTable re-applies its own changelog, so a read-modify-write on it can lose an update.
A truncate deletes key by key, so the deletions reach the changelog and survive a recovery.
"""

from __future__ import annotations

import faust
import orjson

from processors.change_events import Change, decode_change
from processors.inventory.buyer_messages import ProductLabel
from schemas.erp import Brand, Buyer, Product
from streams.app import app, catalogue
from streams.dead_letters import decoded, decoded_events
from streams.metrics import EVENTS
from streams.topics import raw_source, raw_topic

DIMENSIONS = {catalogue.cdc_topic(t).name: t
              for t in ("products", "brands", "suppliers", "buyers", "warehouses")}
PRICE_BREAKS = catalogue.cdc_topic("supplier_price_breaks").name
PRICE_BREAK_EVENTS = "dimensions.price_breaks"
ALL_PRICE_BREAKS = b'{"product_id":null}'  # key of a truncate: every product's breaks

price_break_events = raw_topic(PRICE_BREAK_EVENTS)
price_break_source = raw_source(PRICE_BREAKS)
dimension_source = raw_source(*DIMENSIONS, PRICE_BREAK_EVENTS)

price_break_sets = app.Table("price_break_sets", default=None,
                             partitions=catalogue[PRICE_BREAK_EVENTS].partitions)


def _global_table(name: str) -> faust.GlobalTable:
    # partitions=1 + recovery_buffer_size=1: Faust's advice against global-table recovery loops
    # with several workers; use_partitioner: writes need not follow the source partition.
    return app.GlobalTable(name, default=None, partitions=1, recovery_buffer_size=1,
                           use_partitioner=True)


products = _global_table("dim_products")
brands = _global_table("dim_brands")
suppliers = _global_table("dim_suppliers")
buyers = _global_table("dim_buyers")
buyer_phones = _global_table("dim_buyer_phones")
warehouses = _global_table("dim_warehouses")
price_breaks = _global_table("dim_price_breaks")
TABLE_OF: dict[str, faust.GlobalTable] = {
    "products": products, "brands": brands, "suppliers": suppliers, "buyers": buyers,
    "warehouses": warehouses}


# --------------------------------------------------------------------------- dimension data


@app.agent(price_break_source)
async def route_price_breaks(stream):  # type: ignore[no-untyped-def]
    """Re-key supplier price breaks by product (a truncate goes to every partition)."""
    async for event, change in decoded_events(stream, "dimensions.price_break_router",
                                              decode_change, "supplier_price_breaks",
                                              truncates=True):
        if change.op == "t":
            for partition in range(catalogue[PRICE_BREAK_EVENTS].partitions):
                await price_break_events.send(key=ALL_PRICE_BREAKS, value=event.value,
                                              partition=partition)
        else:
            await price_break_events.send(
                key=orjson.dumps({"product_id": change.row["product_id"]}), value=event.value)


@app.agent(dimension_source)
async def load_dimensions(stream):  # type: ignore[no-untyped-def]
    """Products, brands, suppliers, buyers, warehouses and price breaks into GlobalTables."""
    async for event in stream.events():
        topic = event.message.topic
        table = "supplier_price_breaks" if topic == PRICE_BREAK_EVENTS else DIMENSIONS[topic]
        change = await decoded(event, "dimensions", decode_change, table, truncates=True)
        if change is None:
            continue
        if topic == PRICE_BREAK_EVENTS:
            _apply_price_break(change, event.message.partition)
        else:
            _apply_dimension(change)
        EVENTS.labels(agent="dimensions").inc()


def _apply_price_break(change: Change, partition: int) -> None:
    """Read-modify-write in the partitioned `price_break_sets` (a GlobalTable re-applies its own
    changelog and would lose concurrent updates), then publish the product's whole set."""
    if change.op == "t":
        for product, stored in list(price_break_sets.items()):
            if stored["pt"] == partition:
                del price_break_sets[product]
                price_breaks.pop(product, None)
        return
    row = change.row
    product = str(row["product_id"])
    breaks = dict((price_break_sets.get(product) or {}).get("b", {}))
    brk = f"{row['supplier_id']}:{row['min_qty']}"
    if change.op == "d":
        breaks.pop(brk, None)
    else:
        breaks[brk] = row["unit_cost"]
    price_break_sets[product] = {"pt": partition, "b": breaks}
    price_breaks[product] = breaks


def clear_table(table: faust.Table | faust.GlobalTable) -> None:
    """Delete every key one by one: Faust's `clear()` empties the local store only, so the rows
    would come back from the changelog on the next recovery."""
    for key in list(table.keys()):
        del table[key]


def _apply_dimension(change: Change) -> None:
    table = TABLE_OF[change.table]
    if change.op == "t":
        clear_table(table)
        if change.table == "buyers":
            clear_table(buyer_phones)
        return
    key = str(change.row["id"])
    if change.table == "buyers":
        if change.before is not None and (change.after is None
                                          or change.before["phone"] != change.after["phone"]):
            buyer_phones.pop(change.before["phone"], None)
        if change.after is not None:
            buyer_phones[change.after["phone"]] = key
    if change.op == "d":
        table.pop(key, None)
    else:
        table[key] = change.after


def product_label(product_id: int) -> ProductLabel | None:
    product = products.get(str(product_id))
    brand = brands.get(str(product["brand_id"])) if product else None
    if product is None or brand is None:
        return None
    return ProductLabel.from_rows(Product.model_validate(product), Brand.model_validate(brand))


def supplier_name(supplier_id: int) -> str:
    row = suppliers.get(str(supplier_id))
    return row["name"] if row else f"proveedor {supplier_id}"


def buyer_by_phone(phone: str) -> Buyer | None:
    buyer_id = buyer_phones.get(phone)
    row = buyers.get(buyer_id) if buyer_id is not None else None
    return Buyer.model_validate(row) if row else None


def buyers_for(label: ProductLabel) -> list[Buyer]:
    """The buyer of the product's brand; every buyer when the brand has none assigned."""
    if label.buyer_id is not None:
        row = buyers.get(str(label.buyer_id))
        return [Buyer.model_validate(row)] if row else []
    return [Buyer.model_validate(row) for _, row in sorted(buyers.items())]
