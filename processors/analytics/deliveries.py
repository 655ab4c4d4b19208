"""Delivery stops, planned against actual, from changes of the ERP's `deliveries` table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from processors.analytics.calendar import local_day, parse_utc
from processors.change_events import Change
from schemas.analytics import DeliveryStop

DELIVERED = "entregada"
FAILED = "fallida"


def delivery_stop(change: Change) -> DeliveryStop:
    row = change.row
    eta_end = _time(row.get("eta_end"))
    delivered_at = _time(row.get("delivered_at"))
    on_time = delay = None
    if eta_end is not None and delivered_at is not None:
        delay = (delivered_at - eta_end).total_seconds() / 60
        on_time = delivered_at <= eta_end
    return DeliveryStop(
        delivery_id=row["id"], sales_order_id=row["sales_order_id"],
        vehicle_id=row.get("vehicle_id"), route_date=row["route_date"],
        sequence=row.get("sequence"), status=row["status"],
        planned_start=_time(row.get("eta_start")), planned_end=eta_end,
        delivered_at=delivered_at, on_time=on_time, delay_minutes=delay,
        failed=row["status"] == FAILED, deleted=change.op == "d",
        updated_at=_time(row.get("updated_at")), source_lsn=change.lsn or 0)


def outcome(change: Change, stop: DeliveryStop) -> tuple[str, dict[str, int]] | None:
    """(local day, counts) when this change delivers or fails the stop, else None."""
    before = (change.before or {}).get("status") if change.op == "u" else None
    if change.op == "d" or stop.status == before:
        return None
    if stop.status == DELIVERED and stop.delivered_at is not None:
        counts = {"delivered": 1}
        if stop.on_time is not None:
            counts["on_time" if stop.on_time else "late"] = 1
        return local_day(stop.delivered_at).isoformat(), counts
    if stop.status == FAILED:
        when = stop.updated_at or parse_utc(f"{stop.route_date}T12:00:00+00:00")
        return local_day(when).isoformat(), {"failed": 1}
    return None


def _time(value: Any) -> datetime | None:
    return parse_utc(value) if value else None
