"""Enriched topics for analysts (`analytics.*`) and the internal records that build them.

Public topics (documented keys, JSON values; decimals as strings, times ISO-8601 UTC):

- `analytics.sales_enriched`, key = sales order line id as text: `SalesLineEnriched`.
  One record per line change and again whenever its order's status changes; the latest record
  per key is the line's current truth (`deleted` marks a removed line).
- `analytics.inventory_daily`, key = `product_id:warehouse_id:YYYY-MM-DD`: `InventoryDaily`.
  End-of-day position and value, emitted at 23:59 America/Mexico_City and on demand; a rerun on
  the same day emits the same keys again (the latest wins).
- `analytics.alerts`, key = `product_id:warehouse_id`: `StockAlertEnriched` (a copy of
  `alerts.stock` with product, brand and branch names).
- `analytics.deliveries`, key = delivery id as text: `DeliveryStop`, one per stop and change.

The join rule (see docs/analytics.md): a line is enriched with each dimension's version that
was current at the line's commit LSN, among the versions known when the line is processed; a
line whose dimension is not known at all waits, keyed by the missing dimension, and is emitted
when that dimension arrives. Alerts and deliveries never wait: unknown names are null.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.alerts import StockAlert

DimensionKind = Literal["product", "brand", "category", "customer", "warehouse"]


class SalesLineEnriched(BaseModel):
    """One sales order line with its order, product, brand, category, customer and branch.

    Money is MXN. `unit_price`/`unit_cost` are what the ERP recorded on the line at sale time,
    so revenue, cost and margin never move when a product's price changes later; `list_price`
    and `standard_cost` are the product's as known at the line's commit. `counts_as_sale` is
    true while the order is reserved, confirmed or delivered (not a quote, cancelled or
    returned). `dimension_lsns` names the version of every dimension used (its commit LSN;
    0 = initial snapshot), for audit.
    """

    line_id: int
    order_id: int
    order_status: str
    channel: str
    counts_as_sale: bool
    deleted: bool = False
    ordered_at: datetime = Field(description="The order's creation time (UTC).")
    local_date: date = Field(description="Calendar day of `ordered_at` in America/Mexico_City.")
    local_hour: int = Field(ge=0, le=23)
    product_id: int
    sku: str
    product_model: str
    tire_size: str
    abc_class: str
    brand_id: int
    brand_name: str
    brand_tier: str
    category_id: int
    category_name: str
    customer_id: int
    customer_name: str
    customer_tier: str
    customer_city: str
    customer_state: str
    branch_id: int
    branch_code: str
    branch_name: str
    branch_city: str
    qty: int
    unit_price: Decimal
    unit_cost: Decimal
    list_price: Decimal
    standard_cost: Decimal
    revenue: Decimal = Field(description="qty × unit_price")
    cost: Decimal = Field(description="qty × unit_cost")
    margin: Decimal = Field(description="revenue - cost")
    margin_pct: float | None = Field(None, description="margin / revenue; None when revenue is 0")
    discount_pct: float | None = Field(
        None, description="1 - unit_price / list_price; None when the list price is 0")
    source_lsn: int = Field(0, description="Commit LSN of the line change (0 = snapshot).")
    dimension_lsns: dict[str, int] = Field(default_factory=dict)
    enriched_at: datetime


class InventoryDaily(BaseModel):
    """End-of-day inventory of one product in one warehouse, valued at the product's cost.

    Quantities as in `inventory.position`; `unit_cost` is the product's standard cost as known
    at `snapshot_at` (None if the product is not known yet, then the values are None too).
    """

    day: date
    product_id: int
    warehouse_id: int
    sku: str | None = None
    product_model: str | None = None
    tire_size: str | None = None
    brand_name: str | None = None
    category_name: str | None = None
    warehouse_code: str | None = None
    warehouse_name: str | None = None
    on_hand: int
    reserved: int
    available: int
    on_order: int
    in_transit: int
    position: int
    unit_cost: Decimal | None = None
    value_on_hand: Decimal | None = Field(None, description="max(on_hand, 0) × unit_cost")
    value_position: Decimal | None = Field(None, description="max(position, 0) × unit_cost")
    position_updated_at: datetime | None = None
    reason: Literal["cierre", "manual"]
    snapshot_at: datetime


class StockAlertEnriched(StockAlert):
    """A stock alert with the names a report needs (null when not known yet)."""

    model_config = ConfigDict(frozen=True)

    sku: str | None = None
    product_model: str | None = None
    tire_size: str | None = None
    brand_name: str | None = None
    category_name: str | None = None
    branch_code: str | None = None
    branch_name: str | None = None
    branch_city: str | None = None


class DeliveryStop(BaseModel):
    """One delivery stop, planned (route, sequence, ETA window) against actual (delivered_at).

    `on_time` is None until the stop is delivered or when it has no ETA; `delay_minutes` is
    delivered_at - eta_end (negative = early).
    """

    delivery_id: int
    sales_order_id: int
    vehicle_id: int | None = None
    route_date: date
    sequence: int | None = None
    status: str
    planned_start: datetime | None = None
    planned_end: datetime | None = None
    delivered_at: datetime | None = None
    on_time: bool | None = None
    delay_minutes: float | None = None
    failed: bool = False
    deleted: bool = False
    updated_at: datetime | None = None
    source_lsn: int = 0


# ---------------------------------------------------------------- internal topics


class DimensionVersion(BaseModel):
    """One version of a dimension row: its commit LSN (0 = snapshot) and the kept columns.

    `attrs` is None for a deleted row. Decimal columns stay strings, as on the CDC topic.
    """

    lsn: int
    ts_ms: int
    attrs: dict[str, Any] | None


class LineRetry(BaseModel):
    """`analytics.line_retries` (internal), key = the order's CDC key, JSON `{"id": N}`, so a
    retry lands in its order's partition.

    Asks to enrich line `line_id` again, with the history of the dimension it waited for
    (`carried`, by dimension key `kind:id`).
    """

    line_id: int
    carried: dict[str, list[DimensionVersion]] = Field(default_factory=dict)


class DimensionEvent(BaseModel):
    """`analytics.dimension_events` (internal), key = dimension key `kind:id`.

    Either a new `version` of the dimension, or a line that `waits` for it (its order key and
    line id: the line itself stays in the order's state).
    """

    kind: Literal["version", "waiting"]
    version: DimensionVersion | None = None
    order_key: str | None = None
    line_id: int | None = None


class SnapshotRequest(BaseModel):
    """`analytics.inventory_snapshot_requests` (internal): emit the day's inventory rows.

    Sent to every partition (no key); each worker answers for the partitions it owns.
    """

    day: date
    reason: Literal["cierre", "manual"]
    requested_at: datetime
