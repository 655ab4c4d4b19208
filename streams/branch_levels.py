"""Other branches' surplus, for the stock flow to offer a transfer before a purchase (glue).

GlobalTable `branch_levels`: `<product_id>:<warehouse_id>` -> [available, position,
order-up-to] of a branch while it holds surplus (position above its own order-up-to level);
the key is deleted when the surplus is gone. Every key is written only by the stock-alert agent
that owns its stock key (one writer per key, so no read-modify-write is lost), and only when its
entry changes: branches without surplus cost no write. Every worker holds the whole table, so
the agent deciding a shortage in one branch reads the others' surplus at once
(processors/inventory/transfers.py decides).
"""

from __future__ import annotations

from processors.inventory.evaluation import AlertInputs, Cause
from processors.inventory.transfers import TransferConfig, branch_entry, offer_transfer
from schemas.alerts import StockAlert
from schemas.events import InventoryPosition
from streams.app import app
from streams.dimensions import warehouses

TRANSFERS = TransferConfig()

levels = app.GlobalTable("branch_levels", default=None, partitions=1, recovery_buffer_size=1,
                         use_partitioner=True)


def observe(inputs: AlertInputs, position: InventoryPosition, alert: StockAlert | None,
            cause: Cause) -> StockAlert | None:
    """Record this branch's surplus (from the decision just made), and give a shortage alert of
    it the transfer option other branches' surplus allows (remembered as the alert sent)."""
    if inputs.order_up_to is not None:
        key = f"{position.product_id}:{position.warehouse_id}"
        entry = branch_entry(position, inputs.order_up_to)
        if entry != levels.get(key):
            if entry is None:
                levels.pop(key, None)
            else:
                levels[key] = entry
    if alert is None or alert.proposed_qty <= 0 or alert.resolved:
        return alert
    names = {int(w): row["name"] for w, row in list(warehouses.items()) if row}
    entries = {w: entry for w in names if w != alert.warehouse_id
               and (entry := levels.get(f"{alert.product_id}:{w}")) is not None}
    offered = offer_transfer(alert, entries, names, TRANSFERS)
    if offered is not alert:
        inputs.remember_sent(offered, cause)
    return offered
