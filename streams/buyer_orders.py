"""The draft purchase orders a buyer's approvals join, and what approvals read (glue).

Table `buyer_drafts` (`<phone>|<supplier_id>:<warehouse_id>` -> the day's DraftOrder, JSON),
partitioned like `whatsapp.inbound` (by phone), so it lives beside the phone's open alerts in the
buyer loop (streams/buyer_loop.py). The ERP holds the order itself (`po:<s>:<w>:<day>`, written
by the ERP sink line by line); the table only lets the reply say what the order holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from processors.inventory.buyer_orders import OrderBook, order_terms
from processors.inventory.consolidation import DraftOrder
from schemas.alerts import StockAlert
from schemas.erp import Supplier
from streams.app import app, catalogue
from streams.dimensions import suppliers, warehouses

drafts = app.Table("buyer_drafts", default=None,
                   partitions=catalogue["whatsapp.inbound"].partitions)


def _key(phone: str, supplier_id: int, warehouse_id: int) -> str:
    return f"{phone}|{supplier_id}:{warehouse_id}"


def order_book(phone: str, alerts: Mapping[str, StockAlert]) -> OrderBook:
    """Order terms of the alerts' suppliers, the phone's drafts for them, branch names."""
    pairs = {(a.supplier_id, a.warehouse_id) for a in alerts.values()}
    terms = {}
    for supplier_id in {s for s, _ in pairs}:
        row = suppliers.get(str(supplier_id))
        terms[supplier_id] = order_terms(supplier_id,
                                         Supplier.model_validate(row) if row else None)
    kept = {pair: DraftOrder.from_dict(row) for pair in pairs
            if (row := drafts.get(_key(phone, *pair))) is not None}
    names = {int(key): row["name"] for key, row in list(warehouses.items()) if row}
    return OrderBook(terms, kept, names)


def keep_drafts(phone: str, orders: Iterable[DraftOrder]) -> None:
    for order in orders:
        drafts[_key(phone, order.supplier_id, order.warehouse_id)] = order.to_dict()
