"""The agent's tools as the model sees them: validated argument models and JSON-schema specs.

Arguments are validated before anything runs: unknown fields are refused (there is no "discount"
or "price" argument anywhere), sizes and brands are normalised, quantities are bounded.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from processors.sales_agent.brands import find_brand
from processors.sales_agent.text import fold
from processors.sales_agent.tire_size import parse_tire_size
from processors.sales_agent.understanding import FaqTopic

MAX_QTY = 40


class ToolArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SearchTiresArgs(ToolArgs):
    """Find tires by size or vehicle (fitment), optionally brand and budget. Prices returned
    already include this customer's discount; each option has price per tire, total for `qty`
    and stock at the customer's branch."""

    size: str | None = Field(None, description="Tire size, e.g. 205/55R16.")
    vehicle_make: str | None = Field(None, description="e.g. Volkswagen")
    vehicle_model: str | None = Field(None, description="e.g. Jetta")
    vehicle_year: int | None = Field(None, ge=1980, le=2035)
    brand: str | None = Field(None, description="Brand name, e.g. Michelin.")
    max_price_per_tire: Decimal | None = Field(None, gt=0, le=100_000,
                                               description="Budget per tire in MXN.")
    qty: int = Field(4, ge=1, le=MAX_QTY, description="How many tires the customer wants.")

    @field_validator("size")
    @classmethod
    def _size(cls, value: str | None) -> str | None:
        return None if value is None else str(parse_tire_size(value))

    @field_validator("brand")
    @classmethod
    def _brand(cls, value: str | None) -> str | None:
        if value is None:
            return None
        brand = find_brand(fold(value))
        if brand is None:
            raise ValueError(f"unknown brand {value!r}")
        return brand

    @model_validator(mode="after")
    def _size_or_vehicle(self) -> SearchTiresArgs:
        if self.size is None and self.vehicle_model is None:
            raise ValueError("give a size or a vehicle_model")
        return self


class StockByBranchArgs(ToolArgs):
    """Available units of one product in each branch."""

    product_id: int = Field(ge=1)


class PriceForCustomerArgs(ToolArgs):
    """This customer's price (tier discount applied) for `qty` units of one product."""

    product_id: int = Field(ge=1)
    qty: int = Field(4, ge=1, le=MAX_QTY)


class CreateQuoteArgs(ToolArgs):
    """Create a quote for one product and quantity at the customer's price, valid a few days.
    Call it when the customer picks an option; it does not reserve anything."""

    product_id: int = Field(ge=1)
    qty: int = Field(4, ge=1, le=MAX_QTY)
    warehouse_id: int | None = Field(None, ge=1, description="Branch; default: customer's.")


class ReserveOrderArgs(ToolArgs):
    """Reserve the quoted tires as a sales order. Only after the customer explicitly confirmed
    the current quote in their last message."""

    quote_id: str = Field(pattern=r"^Q-[0-9A-F]{8}$")
    needs_delivery: bool = Field(False, description="True for home delivery, False for pickup.")


class DeliverySlotArgs(ToolArgs):
    """Earliest pickup time at the branch or delivery date in the customer's window."""

    mode: Literal["pickup", "delivery"] = "delivery"


class OrderStatusArgs(ToolArgs):
    """Status and delivery of one of this customer's orders."""

    order_id: int = Field(ge=1, le=10**12)


class RescheduleDeliveryArgs(ToolArgs):
    """Move the delivery of one of this customer's orders to another day. Without `date` it
    returns the days the route planner can still meet (offer them); with one of those days it
    reschedules the delivery. Only when the customer asked to change the delivery day/time."""

    order_id: int = Field(ge=1, le=10**12)
    date: dt.date | None = Field(None, description="One of the offered days (YYYY-MM-DD).")


class NearestBranchArgs(ToolArgs):
    """The branch nearest to a point the customer shared, and whether home delivery reaches it."""

    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class FaqArgs(ToolArgs):
    """Store policy on warranty, alignment, tire pressure, installation, payment or delivery."""

    topic: FaqTopic


class HandoffArgs(ToolArgs):
    """Pass the conversation to a human sales advisor."""

    reason: str = Field(min_length=1, max_length=300)


TOOL_ARGS: dict[str, type[ToolArgs]] = {
    "search_tires": SearchTiresArgs,
    "stock_by_branch": StockByBranchArgs,
    "price_for_customer": PriceForCustomerArgs,
    "create_quote": CreateQuoteArgs,
    "reserve_order": ReserveOrderArgs,
    "delivery_slot": DeliverySlotArgs,
    "order_status": OrderStatusArgs,
    "reschedule_delivery": RescheduleDeliveryArgs,
    "nearest_branch": NearestBranchArgs,
    "faq": FaqArgs,
    "handoff_to_human": HandoffArgs,
}


def tool_specs() -> list[dict[str, Any]]:
    """Tool definitions in the OpenAI chat-completions format."""
    specs = []
    for name, model in TOOL_ARGS.items():
        schema = model.model_json_schema()
        schema.pop("title", None)
        schema.pop("description", None)
        specs.append({"type": "function", "function": {
            "name": name, "description": " ".join((model.__doc__ or "").split()),
            "parameters": schema}})
    return specs
