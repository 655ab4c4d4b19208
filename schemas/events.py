"""Domain events the stream processors emit."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


def stock_table_key(product_id: int, warehouse_id: int) -> str:
    """The key of one product × warehouse in the stream tables (`inventory`, `stock_alerts`,
    `demand_history`, …) and in forecasts: `"<product_id>:<warehouse_id>"`."""
    return f"{product_id}:{warehouse_id}"


class InventoryPosition(BaseModel):
    """Inventory position of one product in one warehouse (`inventory.position`).

    available = on_hand - reserved; position = available + on_order + in_transit.
    """

    product_id: int
    warehouse_id: int
    on_hand: int = 0
    reserved: int = 0
    on_order: int = 0
    in_transit: int = 0
    updated_at: datetime | None = None
    source_lsn: int = Field(0, description="LSN of the last stock change applied.")

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    @property
    def position(self) -> int:
        return self.available + self.on_order + self.in_transit

    @property
    def key(self) -> str:
        return stock_table_key(self.product_id, self.warehouse_id)


class OnOrderLine(BaseModel):
    """Open quantity of one purchase order line (`inventory.on_order`), keyed like `stock`."""

    product_id: int
    warehouse_id: int
    line_id: int
    open_qty: int


class OrderSweep(BaseModel):
    """`orders.sweeps` (internal): drop the per-order state a flow no longer needs.

    Sent to every partition (no key) by `streams.order_sweeps`; the owner of each partition of
    the sales-order topics sweeps the orders of that partition, as of `at`.
    """

    at: datetime
    reason: Literal["diaria", "manual"]
