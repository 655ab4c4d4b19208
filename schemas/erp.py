"""ERP row types, one model per CDC'd table, as they travel in `ChangeEvent.after/before`.

Unknown extra columns are kept (`extra="allow"`) so an ERP that adds a column does not break
consumers; a missing required column or a wrong type is a malformed event.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

from pydantic import BaseModel, ConfigDict


class Row(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class Brand(Row):
    id: int
    name: str
    tier: str
    buyer_id: int | None = None


class Category(Row):
    id: int
    name: str


class Supplier(Row):
    id: int
    name: str
    email: str | None = None
    phone: str | None = None
    lead_time_days: Decimal
    lead_time_sd_days: Decimal = Decimal(0)
    min_order_qty: int = 1
    pack_multiple: int = 1
    min_order_value: Decimal = Decimal(0)  # MXN; an order below it is refused
    free_freight_value: Decimal = Decimal(0)  # MXN; from this order value on, freight is free


class Product(Row):
    id: int
    sku: str
    brand_id: int
    category_id: int
    supplier_id: int
    model: str
    width: int
    aspect_ratio: int
    rim: int
    tire_size: str
    load_index: int
    speed_index: str
    cost: Decimal
    list_price: Decimal
    weight_kg: Decimal
    abc_class: str = "C"
    active: bool = True
    updated_at: datetime | None = None


class SupplierPriceBreak(Row):
    supplier_id: int
    product_id: int
    min_qty: int
    unit_cost: Decimal


class VehicleFitment(Row):
    id: int
    make: str
    model: str
    year_from: int
    year_to: int
    tire_size: str


class Warehouse(Row):
    id: int
    code: str
    name: str
    city: str
    state: str
    lat: float
    lon: float
    is_branch: bool = True


class Stock(Row):
    product_id: int
    warehouse_id: int
    on_hand: int
    reserved: int = 0
    in_transit: int = 0
    updated_at: datetime | None = None


class Customer(Row):
    id: int
    name: str
    tier: str
    phone: str | None = None
    email: str | None = None
    address: str
    city: str
    state: str
    lat: float
    lon: float
    home_warehouse_id: int | None = None
    delivery_window_start: time
    delivery_window_end: time
    updated_at: datetime | None = None


class Buyer(Row):
    id: int
    name: str
    phone: str
    email: str


class SalesOrder(Row):
    id: int
    customer_id: int
    warehouse_id: int
    status: str
    channel: str = "mostrador"
    created_at: datetime
    delivery_date: date | None = None
    needs_delivery: bool = False
    idempotency_key: str | None = None


class SalesOrderLine(Row):
    id: int
    order_id: int
    product_id: int
    qty: int
    unit_price: Decimal
    unit_cost: Decimal


class PurchaseOrder(Row):
    id: int
    supplier_id: int
    warehouse_id: int
    status: str
    created_at: datetime
    expected_at: date | None = None
    created_by: str = "erp"
    idempotency_key: str | None = None


class PurchaseOrderLine(Row):
    id: int
    po_id: int
    product_id: int
    qty: int
    unit_cost: Decimal
    received_qty: int = 0


class Vehicle(Row):
    id: int
    warehouse_id: int
    plate: str
    capacity_tires: int
    capacity_kg: Decimal
    shift_start: time
    shift_end: time
    driver_name: str | None = None
    driver_phone: str | None = None


class Delivery(Row):
    id: int
    sales_order_id: int
    vehicle_id: int | None = None
    route_date: date
    sequence: int | None = None
    eta_start: datetime | None = None
    eta_end: datetime | None = None
    status: str = "pendiente"
    delivered_at: datetime | None = None
    updated_at: datetime | None = None


class StockMove(Row):
    id: int
    product_id: int
    warehouse_id: int
    qty: int
    kind: str
    ref: str | None = None
    created_at: datetime


class StockTransfer(Row):
    """A transfer between branches: `en_transito` (out of the sender, in transit at the
    receiver), then `recibido` (on hand at the receiver) or `cancelado` (back at the sender)."""

    id: int
    product_id: int
    from_warehouse_id: int
    to_warehouse_id: int
    qty: int
    status: str = "en_transito"
    transit_days: Decimal = Decimal(1)
    created_at: datetime
    received_at: datetime | None = None
    created_by: str = "erp"
    idempotency_key: str | None = None


ROW_MODELS: dict[str, type[Row]] = {
    "brands": Brand,
    "categories": Category,
    "suppliers": Supplier,
    "products": Product,
    "supplier_price_breaks": SupplierPriceBreak,
    "vehicle_fitments": VehicleFitment,
    "warehouses": Warehouse,
    "stock": Stock,
    "customers": Customer,
    "buyers": Buyer,
    "sales_orders": SalesOrder,
    "sales_order_lines": SalesOrderLine,
    "purchase_orders": PurchaseOrder,
    "purchase_order_lines": PurchaseOrderLine,
    "vehicles": Vehicle,
    "deliveries": Delivery,
    "stock_moves": StockMove,
    "stock_transfers": StockTransfer,
}
