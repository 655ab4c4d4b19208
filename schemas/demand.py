"""Demand contracts: a sales order line's contribution and a product × warehouse's daily totals.

Both are keyed like the stock key (`{"product_id":…,"warehouse_id":…}`); how they are computed is
in `processors/inventory/demand.py`.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel


class LineDemand(BaseModel):
    """The absolute contribution of one sales order line to its product × warehouse
    (`demand.line_contributions`, keyed like the stock key)."""

    line_id: int
    order_id: int
    product_id: int
    warehouse_id: int
    day: date
    qty: int
    at_ms: int
    snapshot: bool = False


class DailyDemand(BaseModel):
    """Units sold per local day (America/Mexico_City) over the last 120 days of one product ×
    warehouse (`demand.daily`, keyed like the stock key). Days without sales are absent.

    `as_of_ms` is the commit time of the newest change applied; `snapshot` is True when the
    change that produced this record came from a CDC snapshot.
    """

    product_id: int
    warehouse_id: int
    days: dict[date, int]
    as_of_ms: int
    snapshot: bool = False
