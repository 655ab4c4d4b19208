"""Inventory position per product×warehouse from ERP change events (pure).

Correct under duplicated and out-of-order delivery:
- stock rows carry absolute values, so the newest image wins: a change is applied only when its
  commit LSN is not older than the last one applied (snapshot rows, which have no LSN, always
  apply: they are read after the slot was created and are never older than what preceded them);
- on-order is the sum of the absolute open quantity of each purchase order line, so replaying a
  line's contribution changes nothing.

Transfers between branches need nothing of their own here: the ERP's `stock_transfers` trigger
moves them in the stock rows (the sender's on hand down, the receiver's in transit up; on receipt
in transit into on hand), so the stock rows' CDC already carries them into both positions; adding
`erp.public.stock_transfers` as well would count them twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from schemas.events import InventoryPosition, OnOrderLine

OPEN_PO_STATUSES = frozenset({"borrador", "enviada"})


@dataclass
class InventoryState:
    product_id: int
    warehouse_id: int
    on_hand: int = 0
    reserved: int = 0
    in_transit: int = 0
    stock_lsn: int = -1
    on_order_lines: dict[str, int] = field(default_factory=dict)
    updated_at: datetime | None = None

    def position(self) -> InventoryPosition:
        return InventoryPosition(
            product_id=self.product_id, warehouse_id=self.warehouse_id, on_hand=self.on_hand,
            reserved=self.reserved, on_order=sum(self.on_order_lines.values()),
            in_transit=self.in_transit, updated_at=self.updated_at,
            source_lsn=max(self.stock_lsn, 0))

    def quantities(self) -> tuple[int, int, int, int]:
        """What a position change is judged by: on hand, reserved, on order, in transit."""
        return (self.on_hand, self.reserved, sum(self.on_order_lines.values()),
                self.in_transit)

    def to_dict(self) -> dict[str, Any]:
        return {"p": self.product_id, "w": self.warehouse_id, "oh": self.on_hand,
                "r": self.reserved, "t": self.in_transit, "lsn": self.stock_lsn,
                "oo": self.on_order_lines,
                "at": self.updated_at.isoformat() if self.updated_at else None}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> InventoryState:
        return cls(d["p"], d["w"], d["oh"], d["r"], d["t"], d["lsn"], dict(d["oo"]),
                   datetime.fromisoformat(d["at"]) if d.get("at") else None)


def decision_basis(position: InventoryPosition) -> list[int]:
    """What an alert decision is remembered to have been made from: the quantities and the
    stock change they came from (so a position that went away and came back is not mistaken
    for the one decided)."""
    return [position.on_hand, position.reserved, position.on_order, position.in_transit,
            position.source_lsn]


def undecided(position: InventoryPosition, changed: bool, decided_on: list[int] | None) -> bool:
    """Whether the key's alert must be decided after an inventory record: its quantities
    changed, or the stored alert state was decided from another position (`decided_on`, its
    `decision_basis`; None when never decided).

    The second case is a replay: the `inventory` and `stock_alerts` tables reach their
    changelogs separately, so a worker that dies between the two comes back with the new
    position and the old alert state, and re-reading the record finds the position unchanged.
    (`decided_on` is only stored with a changed alert state, so a stale one costs a decision
    that changes nothing, never a missed one.)
    """
    return changed or decided_on != decision_basis(position)


def apply_stock_change(state: InventoryState, op: str, row: dict[str, Any],
                       lsn: int | None) -> bool:
    """Apply a stock row change; returns False when the change is older than the state."""
    if op != "r":
        if lsn is None:
            raise ValueError("a streamed stock change must carry its commit LSN")
        if lsn < state.stock_lsn:
            return False
        state.stock_lsn = lsn
    if op == "d":
        state.on_hand = state.reserved = state.in_transit = 0
    else:
        state.on_hand = int(row["on_hand"])
        state.reserved = int(row.get("reserved") or 0)
        state.in_transit = int(row.get("in_transit") or 0)
        at = row.get("updated_at")
        if at:
            state.updated_at = datetime.fromisoformat(at.replace("Z", "+00:00"))
    return True


def apply_on_order(state: InventoryState, line: OnOrderLine) -> None:
    if line.open_qty > 0:
        state.on_order_lines[str(line.line_id)] = line.open_qty
    else:
        state.on_order_lines.pop(str(line.line_id), None)


@dataclass
class PurchaseOrderState:
    """One purchase order: its header and lines as last seen (keyed by PO id)."""

    header: dict[str, Any] | None = None
    lines: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"h": self.header, "l": self.lines}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> PurchaseOrderState:
        return cls(d["h"], dict(d["l"])) if d else cls()


def apply_po_change(state: PurchaseOrderState, table: str, op: str, row: dict[str, Any]
                    ) -> list[OnOrderLine]:
    """Apply a purchase order header/line change; returns the lines' absolute open quantities.

    Lines that arrive before their header are kept and reported once the header is known.
    """
    if table == "purchase_orders":
        state.header = None if op == "d" else row
        touched = list(state.lines)
    elif table == "purchase_order_lines":
        line_id = str(row["id"])
        if op == "d":
            removed = state.lines.pop(line_id, row)
            if state.header is None:
                return []
            return [OnOrderLine(product_id=int(removed["product_id"]),
                                warehouse_id=int(state.header["warehouse_id"]),
                                line_id=int(line_id), open_qty=0)]
        state.lines[line_id] = row
        touched = [line_id]
    else:
        raise ValueError(f"not a purchase order table: {table}")
    if state.header is None:
        return []
    is_open = state.header.get("status") in OPEN_PO_STATUSES
    warehouse_id = int(state.header["warehouse_id"])
    out = []
    for line_id in touched:
        line = state.lines[line_id]
        open_qty = max(0, int(line["qty"]) - int(line.get("received_qty") or 0)) if is_open else 0
        out.append(OnOrderLine(product_id=int(line["product_id"]), warehouse_id=warehouse_id,
                               line_id=int(line_id), open_qty=open_qty))
    return out
