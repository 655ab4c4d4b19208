"""The dashboard's sales counters, derived from the orders' state (pure).

Each line in `analytics_orders` remembers what it contributes to the sales counters
(`Contribution`: its order's local day and hour, its branch, revenue, margin) or None when it
is not a sale. The sales counters of a partition are the sum of its orders' contributions per
local day (`SalesByDay`, buckets as `processors.analytics.counters` keeps them), so they need
no changelog of their own, always agree with the table, and are rebuilt from it after a
rebalance (`sales_by_day`). Between rebuilds a line's change moves its old contribution out
and its new one in (`move`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from processors.analytics.counters import Bucket
from schemas.analytics import SalesLineEnriched

Contribution = dict[str, Any]
"""{"day": "YYYY-MM-DD" (local), "hour": 0-23 (local), "branch": name, "revenue", "margin"}"""
SalesByDay = dict[str, Bucket]


def contribution(line: SalesLineEnriched) -> Contribution | None:
    """What the enriched line adds to the sales counters now; None when it is not a sale."""
    if not line.counts_as_sale:
        return None
    return {"day": line.local_date.isoformat(), "hour": line.local_hour,
            "branch": line.branch_name, "revenue": float(line.revenue),
            "margin": float(line.margin)}


def add(view: SalesByDay, counted: Contribution | None, sign: int = 1) -> None:
    """Add (`sign` 1) or take out (-1) one line's contribution. Anything but a contribution
    (None: not a sale) adds nothing."""
    if not isinstance(counted, dict):
        return
    bucket = view.setdefault(counted["day"], {})
    revenue = sign * counted["revenue"]
    _add(bucket, "revenue", revenue)
    _add(bucket, "margin", sign * counted["margin"])
    bucket["lines"] = bucket.get("lines", 0) + sign
    _add(bucket.setdefault("by_hour", {}), str(counted["hour"]), revenue)
    _add(bucket.setdefault("by_branch", {}), counted["branch"], revenue)


def _add(amounts: dict[str, float], name: str, pesos: float) -> None:
    """Amounts are whole cents, so rounding keeps sums exact however often lines move."""
    amounts[name] = round(amounts.get(name, 0.0) + pesos, 2)


def move(view: SalesByDay, old: Contribution | None, new: Contribution | None) -> None:
    """A line's contribution changed from `old` to `new`."""
    add(view, old, -1)
    add(view, new, 1)


def copy_of(bucket: Bucket) -> Bucket:
    """A copy that later changes to the view do not reach (buckets nest one level)."""
    return {name: dict(value) if isinstance(value, dict) else value
            for name, value in bucket.items()}


def sales_by_day(states: Iterable[dict[str, Any]]) -> SalesByDay:
    """The sales counters of a set of order states (`processors.analytics.orders`)."""
    view: SalesByDay = {}
    for state in states:
        for line in state["lines"].values():
            add(view, line.get("counted"))
    return view
