"""End-of-day inventory rows: a position from `inventory.position` valued at product cost."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from processors.analytics.alerts import Latest
from processors.analytics.dimensions import dimension_key
from schemas.analytics import InventoryDaily
from schemas.events import InventoryPosition


def daily_row(position: InventoryPosition, day: date, latest: Latest,
              reason: Literal["cierre", "manual"], at: datetime) -> InventoryDaily:
    """Left join with product, brand, category and warehouse as known at `at`."""
    product = latest(dimension_key("product", position.product_id)) or {}
    brand = latest(dimension_key("brand", product["brand_id"])) if product else None
    category = latest(dimension_key("category", product["category_id"])) if product else None
    warehouse = latest(dimension_key("warehouse", position.warehouse_id)) or {}
    cost = Decimal(product["cost"]) if product.get("cost") is not None else None
    return InventoryDaily(
        day=day, product_id=position.product_id, warehouse_id=position.warehouse_id,
        sku=product.get("sku"), product_model=product.get("model"),
        tire_size=product.get("tire_size"), brand_name=(brand or {}).get("name"),
        category_name=(category or {}).get("name"), warehouse_code=warehouse.get("code"),
        warehouse_name=warehouse.get("name"), on_hand=position.on_hand,
        reserved=position.reserved, available=position.available,
        on_order=position.on_order, in_transit=position.in_transit,
        position=position.position, unit_cost=cost,
        value_on_hand=_value(position.on_hand, cost),
        value_position=_value(position.position, cost),
        position_updated_at=position.updated_at, reason=reason, snapshot_at=at)


def _value(qty: int, cost: Decimal | None) -> Decimal | None:
    return None if cost is None else max(qty, 0) * cost


def daily_key(product_id: int, warehouse_id: int, day: date) -> str:
    return f"{product_id}:{warehouse_id}:{day.isoformat()}"
