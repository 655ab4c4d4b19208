"""Stock alerts and replenishment proposals (`inventory.alerts`).

One `StockAlert` is emitted when the alert level of a product in a warehouse changes, when a
snoozed alert is still active after its snooze ends (`reminder`), and when an alert clears
(`resolved`). Same input events always give the same alerts: ids are derived from
product × warehouse, level and a per-key version counter, never from clocks or random numbers.

Field names are English; `reason` and `recommendation` are Spanish text for the buyer.
Money is MXN as Decimal (a string on the wire), quantities are whole tires.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.events import stock_table_key
from schemas.transfers import TransferOption
from schemas.whatsapp import InboundMessage


class AlertLevel(StrEnum):
    """Alert levels, from most to least urgent (see `processors.inventory.alerts.classify`)."""

    CRITICO = "critico"
    """Stockout before a new order can arrive (or nothing available now)."""
    ALTO = "alto"
    """Inventory position at or below the reorder point: order now."""
    MEDIO = "medio"
    """The reorder point will be crossed within the review period (or the warning days)."""
    SIN_MOVIMIENTO = "sin_movimiento"
    """No sales in the no-movement window (90 days) with stock on hand."""
    SOBRESTOCK = "sobrestock"
    """Cover above the overstock limit (6 months by default)."""
    OPORTUNIDAD = "oportunidad"
    """An order is near and a supplier price break lowers the total cost: order early."""


class StockAlert(BaseModel):
    """One alert event for a product in a warehouse.

    - `alert_id` names the alert episode (one level, from when it opened until it changes or
      clears); the buyer's buttons carry it. A reminder and the resolution keep the episode's id.
    - `event_id` is unique per emitted event: the episode id itself when it opens,
      `<alert_id>-r<version>` for a reminder, `<alert_id>-resuelta` for the resolution. Sinks
      derive their idempotency keys from it.
    - Numbers are the state when the event was decided: `available` = on hand - reserved,
      `position` = available + on order + in transit; `reorder_point`, `safety_stock` and
      `order_up_to` are whole units; `days_of_cover` = available / daily demand (None without
      demand).
    - The proposal: `proposed_qty` (0 when the level calls for no purchase) at `unit_cost` from
      `supplier_id`; `base_unit_cost` is the cost without a volume break, `break_min_qty` the
      break applied (None = no break), `annual_savings` what taking the break saves a year.
      `pack_multiple`, `min_order_qty` and `price_breaks` let a buyer's adjusted quantity be
      rounded and priced the same way.
    """

    model_config = ConfigDict(frozen=True)

    event_id: str = Field(min_length=1, max_length=160)
    alert_id: str = Field(min_length=1, max_length=120)
    product_id: int
    warehouse_id: int
    level: AlertLevel
    previous_level: AlertLevel | None = Field(
        None, description="The level the buyer was last told about for this product/warehouse.")
    resolved: bool = False
    reminder: bool = False
    reason: str = Field(description="Why, with the numbers (Spanish).")
    recommendation: str = Field(description="What to do (Spanish).")
    available: int
    on_order: int
    in_transit: int
    position: int
    reorder_point: int
    safety_stock: int
    order_up_to: int
    daily_demand: float = Field(ge=0)
    days_of_cover: float | None = None
    proposed_qty: int = Field(ge=0)
    supplier_id: int
    lead_time_days: float = Field(ge=0)
    unit_cost: Decimal = Field(ge=0)
    total_cost: Decimal = Field(ge=0)
    base_unit_cost: Decimal = Field(ge=0)
    break_min_qty: int | None = None
    annual_savings: Decimal = Decimal(0)
    price_breaks: tuple[tuple[int, Decimal], ...] = Field(
        (), description="The supplier's volume breaks as (min_qty, unit_cost), ascending.")
    pack_multiple: int = Field(1, ge=1)
    min_order_qty: int = Field(1, ge=1)
    route: Literal["critical", "digest", "proposal_line"] | None = Field(
        None, description="Triage (processors/inventory/triage.py): a critical message to the "
                          "buyer, a line in the morning digest, or a line in the supplier's next "
                          "proposal (shown in the digest). None: not triaged.")
    segment: str | None = Field(
        None, description="Triage segment: `<ABC>/<demand pattern>`, e.g. `C/intermittent`.")
    at: datetime
    transfer: TransferOption | None = None  # another branch's surplus, offered before buying

    @property
    def key(self) -> str:
        return stock_table_key(self.product_id, self.warehouse_id)


class AlertControl(BaseModel):
    """`alerts.control` (keyed by stock key): what moves an alert besides stock and demand.

    - `snooze`: `Posponer` on `alert_id` until `until`.
    - `settle`: evaluate a key whose snapshot inputs have settled.
    - `clock`: evaluate at `at` (a snooze ended, or the morning re-evaluation).
    """

    kind: Literal["snooze", "settle", "clock"]
    at: datetime
    alert_id: str | None = None
    until: datetime | None = None


class BuyerFeed(BaseModel):
    """`alerts.by_buyer` (keyed by buyer phone): an alert event, the morning digest's turn, the
    attention budget's clock (`tick`: a gathering window or the go-live summary is due), or a
    buyer's message read again (`retry`) once the feed before it has been read.

    `initial`: the alert comes from the first evaluation of an ERP (a fresh start or a
    re-snapshot): it goes into the buyer's go-live summary, not a message of its own."""

    kind: Literal["alert", "digest", "tick", "retry"]
    at: datetime
    alert: StockAlert | None = None
    message: InboundMessage | None = None
    initial: bool = False
