"""The state of one sales order while its lines are enriched (pure; stored in a Faust table).

    {"order": {id, customer_id, warehouse_id, status, channel, created_at, deleted} | None,
     "lines": {"<line id>": {id, product_id, qty, unit_price, unit_cost, lsn, deleted,
                             waiting, counted}},
     "seen": commit time (ms) of the newest change applied}

`waiting` is the dimension key a line waits for (None when it does not wait); `counted` is what
the line contributes to the sales counters (`processors.analytics.sales_view`, None: nothing).
A change that alters nothing (a redelivered CDC record) asks for no emission.

An order idle for the retention window leaves the table (`idle_before`, swept daily), and with
it its contribution to the sales counters; it was created before the window, so the counters
it leaves are of days the dashboard no longer shows.
"""

from __future__ import annotations

from typing import Any

OrderState = dict[str, Any]
ORDER_COLUMNS = ("id", "customer_id", "warehouse_id", "status", "channel", "created_at")
LINE_COLUMNS = ("id", "product_id", "qty", "unit_price", "unit_cost")


def new_state() -> OrderState:
    return {"order": None, "lines": {}, "seen": 0}


def touch(state: OrderState, at_ms: int) -> None:
    """Remember the commit time of a change applied to the order."""
    state["seen"] = max(state.get("seen", 0), at_ms)


def idle_before(state: OrderState | None, cutoff_ms: int) -> bool:
    """True when no change of the order was committed since `cutoff_ms` (a state stored before
    `seen` existed is kept)."""
    return state is not None and state.get("seen", cutoff_ms) < cutoff_ms


def apply_order(state: OrderState, op: str, row: dict[str, Any]) -> list[str]:
    """Apply a change of the order header; returns the ids of the lines to (re-)emit."""
    header = {c: row.get(c) for c in ORDER_COLUMNS}
    header["deleted"] = op == "d"
    if state["order"] == header:
        return []
    state["order"] = header
    return list(state["lines"])


def apply_line(state: OrderState, op: str, row: dict[str, Any], lsn: int) -> list[str]:
    """Apply a change of one line; returns `[line id]` when it must be (re-)emitted."""
    line_id = str(row["id"])
    known = state["lines"].get(line_id)
    compact = {c: row.get(c) for c in LINE_COLUMNS}
    deleted = op == "d"
    if known is not None and known["deleted"] == deleted and \
            all(known[c] == compact[c] for c in LINE_COLUMNS):
        return []
    state["lines"][line_id] = {
        **compact, "lsn": lsn if known is None or not deleted else known["lsn"],
        "deleted": deleted, "waiting": known["waiting"] if known else None,
        "counted": known["counted"] if known else None}
    return [line_id]


def settled(state: OrderState) -> bool:
    """True when nothing is left to emit: the order was deleted and all its lines emitted."""
    order = state["order"]
    return bool(order and order["deleted"]) and not any(
        line["waiting"] for line in state["lines"].values())
