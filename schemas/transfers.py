"""A transfer between branches offered with a stock alert (`StockAlert.transfer`)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class TransferOption(BaseModel):
    """Another branch's surplus that reaches the alert's branch before the supplier would:
    `qty` from `from_warehouse_id` in `transit_days`; `purchase_qty` is still to be bought
    (before pack and minimum rounding); `text` is the proposal as the buyer reads it (es-MX)."""

    model_config = ConfigDict(frozen=True)

    from_warehouse_id: int
    qty: int = Field(gt=0)
    transit_days: Decimal = Field(gt=0)
    donor_surplus: int = Field(gt=0)
    purchase_qty: int = Field(ge=0)
    text: str
