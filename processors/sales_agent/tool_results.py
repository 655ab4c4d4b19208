"""What each tool returns: the only source of prices, stock, SKUs and dates in a reply."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel

from processors.sales_agent.pricing import Tier
from processors.sales_agent.state import Quote
from processors.sales_agent.understanding import FaqTopic


class TireOption(BaseModel):
    product_id: int
    sku: str
    brand: str
    brand_tier: str
    model: str
    tire_size: str
    load_index: int
    speed_index: str
    list_price: Decimal
    discount_pct: Decimal
    price: Decimal
    qty: int
    total: Decimal
    warehouse_id: int
    branch: str
    stock_at_branch: int
    stock_total: int


class SearchTiresResult(BaseModel):
    outcome: Literal["options", "vehicle_unknown", "year_needed", "no_stock"]
    sizes: list[str]
    vehicle: str | None = None
    brand: str | None = None
    qty: int
    tier: Tier
    options: list[TireOption]
    valid_until: date


class BranchStock(BaseModel):
    warehouse_id: int
    branch: str
    city: str
    available: int


class StockByBranchResult(BaseModel):
    product_id: int
    sku: str
    brand: str
    model: str
    tire_size: str
    branches: list[BranchStock]
    total_available: int


class PriceResult(BaseModel):
    product_id: int
    sku: str
    brand: str
    model: str
    tire_size: str
    tier: Tier
    list_price: Decimal
    discount_pct: Decimal
    unit_price: Decimal
    qty: int
    total: Decimal


class CreateQuoteResult(BaseModel):
    quote: Quote


class ReserveOrderResult(BaseModel):
    status: Literal["reserved", "already_reserved"]
    quote: Quote
    needs_delivery: bool


class DeliverySlotResult(BaseModel):
    mode: Literal["pickup", "delivery"]
    date: date
    window_start: time
    window_end: time
    branch: str | None = None


class OrderStatusResult(BaseModel):
    order_id: int
    status: str
    created_at: datetime
    delivery_date: date | None = None
    needs_delivery: bool
    delivery_status: str | None = None
    eta_start: datetime | None = None
    eta_end: datetime | None = None


class DeliveryWindow(BaseModel):
    date: date
    window_start: time
    window_end: time


class RescheduleResult(BaseModel):
    """`choose`: the days offered (nothing changed yet); `rescheduled`: the change was sent to
    the ERP (the route planner re-plans both days from it); `unchanged`: already on that day."""

    outcome: Literal["choose", "rescheduled", "unchanged"]
    order_id: int
    current_date: date | None = None
    windows: list[DeliveryWindow]
    new_date: date | None = None
    window_start: time
    window_end: time


class NearestBranchResult(BaseModel):
    warehouse_id: int
    branch: str
    city: str
    distance_km: Decimal  # straight line, one decimal
    delivers: bool  # within the home-delivery radius of that branch
    delivery_radius_km: int


class FaqResult(BaseModel):
    topic: FaqTopic
    answer: str


class HandoffResult(BaseModel):
    handoff: bool = True
    reason: str


ToolResult = (SearchTiresResult | StockByBranchResult | PriceResult | CreateQuoteResult
              | ReserveOrderResult | DeliverySlotResult | OrderStatusResult | FaqResult
              | HandoffResult | RescheduleResult | NearestBranchResult)
