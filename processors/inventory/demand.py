"""Daily demand per product × warehouse from sales order changes (pure).

Sales order headers (`sales_orders`: warehouse, status, created_at) and their lines
(`sales_order_lines`: product, qty) are keyed by different ids; the CDC puts a line in its
order's partition (topics.yaml `partition_by`), and the stream glue keeps one `SalesOrderState`
per order. `apply_sales_change` turns each change into the absolute contribution of every line
it touches (`LineDemand`): line id, product × warehouse, the order's local date in
America/Mexico_City, and the quantity; a line of an order that is not demand (quote, cancelled,
returned, deleted) contributes 0, and so does a line that moved to another product or warehouse,
for the place it left.

`DemandHistory` keeps, per product × warehouse, each line's contribution for the last
`RETENTION_DAYS` days. A contribution overwrites the line's previous one, so a redelivered or
replayed change changes nothing and a cancellation takes its line back out. `DailyDemand` is the
daily totals that history publishes; `demand_stats` turns them into the policy's `DemandStats`
for the trailing window ending on a given day (zeros for days without sales), and
`forecast_stats` reads a forecast's daily mean and deviation over the lead time instead.

Correct under duplicates and reordering of an order's header and lines: lines that arrive before
their header are kept and reported once the header is known. Orders older than the retention
window when a change of theirs arrives (the tail of a snapshot of years of sales) are only
remembered as expired; their lines are dropped. A daily sweep (`sweepable`) drops those marks,
the orders that aged out of the window since, and lines whose header never came, so the state
stays bounded.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from processors.inventory.policy import DemandStats
from schemas.demand import DailyDemand, LineDemand
from schemas.timezones import MEXICO_CITY

DEMAND_STATUSES = frozenset({"reservado", "confirmado", "entregado"})
"""Order statuses whose lines are demand; quotes, cancelled and returned orders are not."""
RETENTION_DAYS = 120
TRAILING_WINDOW_DAYS = 90


def local_day(at: datetime | str) -> date:
    """The calendar day in Mexico City of an instant (ISO-8601 strings are accepted; naive
    values are UTC, as the CDC sends them)."""
    if isinstance(at, str):
        at = datetime.fromisoformat(at.replace("Z", "+00:00"))
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(MEXICO_CITY).date()


def day_of_ms(at_ms: int) -> date:
    return local_day(datetime.fromtimestamp(at_ms / 1000, UTC))


# --------------------------------------------------------------------------- orders


@dataclass
class SalesOrderState:
    """One sales order: its header and lines as last seen (keyed by order id), and the commit
    time of its newest change."""

    header: dict[str, Any] | None = None
    lines: dict[str, dict[str, Any]] = field(default_factory=dict)
    expired: bool = False
    seen_ms: int = 0

    def to_dict(self) -> dict[str, Any]:
        if self.expired:
            return {"x": 1}
        return {"h": self.header, "l": self.lines, "t": self.seen_ms}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> SalesOrderState:
        if not d:
            return cls()
        if d.get("x"):
            return cls(expired=True)
        return cls(d["h"], dict(d["l"]), seen_ms=int(d.get("t", 0)))


def sweepable(state: SalesOrderState, today: date,
              retention_days: int = RETENTION_DAYS) -> bool:
    """True when the order can leave the state as of `today`: an expired mark, an order
    created before the retention window (its lines' demand has left the history), or lines
    whose header has not come within the window."""
    if state.expired:
        return True
    oldest = today - timedelta(days=retention_days)
    if state.header is not None:
        return local_day(state.header["created_at"]) < oldest
    return day_of_ms(state.seen_ms) < oldest


def _target(line: Mapping[str, Any], header: Mapping[str, Any]) -> tuple[int, int]:
    return int(line["product_id"]), int(header["warehouse_id"])


def _contribution(line_id: str, line: Mapping[str, Any], header: Mapping[str, Any], *,
                  at_ms: int, snapshot: bool, qty: int | None = None) -> LineDemand:
    product_id, warehouse_id = _target(line, header)
    if qty is None:
        qty = int(line["qty"]) if header.get("status") in DEMAND_STATUSES else 0
    return LineDemand(line_id=int(line_id), order_id=int(header["id"]), product_id=product_id,
                      warehouse_id=warehouse_id, day=local_day(header["created_at"]), qty=qty,
                      at_ms=at_ms, snapshot=snapshot)


def apply_sales_change(state: SalesOrderState, table: str, op: str, row: Mapping[str, Any], *,
                       at_ms: int, snapshot: bool = False,
                       retention_days: int = RETENTION_DAYS) -> list[LineDemand]:
    """Apply a sales order header/line change; returns the touched lines' absolute
    contributions (a 0 for the product × warehouse a line left). `at_ms` is the change's commit
    time: an order created more than `retention_days` before it is expired."""
    if table not in ("sales_orders", "sales_order_lines"):
        raise ValueError(f"not a sales order table: {table}")
    if state.expired:
        return []
    state.seen_ms = max(state.seen_ms, at_ms)
    old_header = state.header
    if table == "sales_orders":
        if op != "d" and local_day(row["created_at"]) < (
                day_of_ms(at_ms) - timedelta(days=retention_days)):
            state.header, state.lines, state.expired = None, {}, True
            return []
        state.header = None if op == "d" else dict(row)
        touched = {line_id: (line, line) for line_id, line in state.lines.items()}
    else:
        line_id = str(row["id"])
        old_line = state.lines.get(line_id) or (dict(row) if op == "d" else None)
        if op == "d":
            state.lines.pop(line_id, None)
            new_line = None
        else:
            new_line = state.lines[line_id] = dict(row)
        touched = {line_id: (old_line, new_line)}
    out: list[LineDemand] = []
    for line_id, (before, after) in touched.items():
        gone = None
        if before is not None and old_header is not None:
            gone = _target(before, old_header)
        if after is not None and state.header is not None:
            now = _contribution(line_id, after, state.header, at_ms=at_ms, snapshot=snapshot)
            out.append(now)
            if gone == (now.product_id, now.warehouse_id):
                gone = None
        if gone is not None:
            assert before is not None and old_header is not None
            out.append(_contribution(line_id, before, old_header, at_ms=at_ms,
                                     snapshot=snapshot, qty=0))
    return out


# --------------------------------------------------------------------------- daily history


@dataclass
class DemandHistory:
    """Each line's contribution (local day ordinal, qty) of one product × warehouse."""

    product_id: int
    warehouse_id: int
    lines: dict[str, tuple[int, int]] = field(default_factory=dict)
    as_of_ms: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"p": self.product_id, "w": self.warehouse_id,
                "l": {k: list(v) for k, v in self.lines.items()}, "t": self.as_of_ms}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DemandHistory:
        return cls(d["p"], d["w"], {k: (int(v[0]), int(v[1])) for k, v in d["l"].items()},
                   int(d["t"]))

    def daily_totals(self) -> dict[date, int]:
        totals: dict[int, int] = {}
        for ordinal, qty in self.lines.values():
            totals[ordinal] = totals.get(ordinal, 0) + qty
        return {date.fromordinal(o): q for o, q in sorted(totals.items()) if q}

    def daily(self, snapshot: bool = False) -> DailyDemand:
        return DailyDemand(product_id=self.product_id, warehouse_id=self.warehouse_id,
                           days=self.daily_totals(), as_of_ms=self.as_of_ms, snapshot=snapshot)


def apply_line_demand(history: DemandHistory, line: LineDemand,
                      retention_days: int = RETENTION_DAYS) -> bool:
    """Overwrite one line's contribution and drop days older than the retention window (counted
    back from the newest commit time seen); True when the daily totals may have changed."""
    if (line.product_id, line.warehouse_id) != (history.product_id, history.warehouse_id):
        raise ValueError(f"line {line.line_id} is for {line.product_id}:{line.warehouse_id}, "
                         f"not {history.product_id}:{history.warehouse_id}")
    history.as_of_ms = max(history.as_of_ms, line.at_ms)
    oldest = (day_of_ms(history.as_of_ms) - timedelta(days=retention_days)).toordinal()
    key = str(line.line_id)
    before = history.lines.get(key)
    entry = (line.day.toordinal(), line.qty)
    if line.qty != 0 and entry[0] > oldest:
        history.lines[key] = entry
    else:
        history.lines.pop(key, None)
    expired = [k for k, (ordinal, _) in history.lines.items() if ordinal <= oldest]
    for k in expired:
        del history.lines[k]
    return history.lines.get(key) != before or bool(expired)


def days_to_value(days: Mapping[int, int]) -> list[tuple[int, int]]:
    """Quantities by day ordinal as a table value: [ordinal, qty] pairs, which JSON keeps as
    they are (an object would turn every ordinal into a string to convert back on each read)."""
    return list(days.items())


def days_from_value(value: list[list[int]] | dict[str, int]) -> dict[int, int]:
    """`days_to_value` read back; also the {"ordinal": qty} object stored before 2026-12."""
    if isinstance(value, dict):
        return {int(day): qty for day, qty in value.items()}
    return dict(value)  # type: ignore[arg-type]  # pairs


def demand_stats(days: Mapping[int, int], today: date,
                 window: int = TRAILING_WINDOW_DAYS) -> DemandStats:
    """Trailing daily demand statistics of the `window` days ending on `today`, from quantities
    by day ordinal (`date.toordinal`, as the alert inputs keep them).

    Equal to `trailing_demand_stats` of the window's daily series (days absent or negative count
    as zero), computed from the days with sales alone: the stock-alert agent calls this on every
    stock change, and a product sells on few of its 90 days. Quantities are whole units, so the
    sums are exact in any order.
    """
    if window < 1:
        raise ValueError("window must be at least one day")
    last = today.toordinal()
    first = last - window + 1
    total = squares = 0
    newest = first - 1
    for ordinal, qty in days.items():
        if qty > 0 and first <= ordinal <= last:
            total += qty
            squares += qty * qty
            newest = max(newest, ordinal)
    mean = total / window
    var = max(0.0, (squares - total * mean) / (window - 1)) if window > 1 else 0.0
    since = last - newest if newest >= first else window
    return DemandStats(mean, math.sqrt(var), window, since)


def forecast_stats(dates: Sequence[date], mean: Sequence[float], sigma: Sequence[float],
                   today: date, lead_time_days: float) -> tuple[float, float] | None:
    """Daily mean and standard deviation of a forecast over the lead time: the forecast days
    from `today` on, at most ⌈L⌉ of them (at least one). σd = √(mean σ²), so that L·σd² is the
    forecast's Σσ² over the lead time (errors independent by day). None when no forecast day is
    left (a stale forecast): the caller keeps the trailing statistics."""
    ahead = [(m, s) for d, m, s in zip(dates, mean, sigma, strict=True) if d >= today]
    window = ahead[:max(1, math.ceil(lead_time_days))]
    if not window:
        return None
    daily = sum(m for m, _ in window) / len(window)
    return max(0.0, daily), math.sqrt(sum(s * s for _, s in window) / len(window))
