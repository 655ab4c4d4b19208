"""Transfers between branches before purchases (pure).

A branch short of a product may get it from another branch that holds a surplus: a position
above its own order-up-to level S. A transfer is cheaper and days faster than a supplier order,
so it is proposed first; only what no branch can spare is bought.

- surplus of a donor = min(position − S, available): it never ships what its own policy needs
  (after the transfer its position is still ≥ S) nor stock it does not have on hand;
- wanted by the receiver = what its proposal would buy (or S − position);
- the donor with the most surplus ships, ties to the shorter transit then the lower id; one
  transfer per proposal, the rest is purchased;
- no transfer when it would not arrive sooner than the supplier's lead time, or ships fewer than
  `min_units`.

Idempotency key `tr:<alert_id>`: approving the same proposal twice writes one transfer.

The stock flow keeps each branch's levels while it holds surplus (`branch_entry`, in the
GlobalTable of streams/branch_levels.py) and offers a shortage alert's transfer with it
(`offer_transfer`, the alert's `transfer` option).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from processors.inventory.alerts import SHORTAGE_LEVELS, fmt_num
from schemas.alerts import StockAlert
from schemas.events import InventoryPosition
from schemas.transfers import TransferOption


@dataclass(frozen=True, slots=True)
class TransferConfig:
    """`transit_days[(from, to)]` between branches (default `default_transit_days`)."""

    default_transit_days: float = 1.0
    transit_days: Mapping[tuple[int, int], float] = field(default_factory=dict)
    min_units: int = 1

    def __post_init__(self) -> None:
        if self.default_transit_days <= 0 or any(d <= 0 for d in self.transit_days.values()):
            raise ValueError("transit days must be positive")
        if self.min_units < 1:
            raise ValueError("min_units must be at least 1")

    def transit(self, from_wh: int, to_wh: int) -> float:
        return self.transit_days.get((from_wh, to_wh), self.default_transit_days)


@dataclass(frozen=True, slots=True)
class BranchStock:
    """One branch's stock of the product and its own policy's order-up-to level."""

    warehouse_id: int
    available: int
    position: int
    order_up_to: int

    @property
    def surplus(self) -> int:
        return max(0, min(self.position - self.order_up_to, self.available))


@dataclass(frozen=True, slots=True)
class TransferProposal:
    alert_id: str
    product_id: int
    from_warehouse_id: int
    to_warehouse_id: int
    qty: int
    transit_days: float
    donor_surplus: int
    purchase_qty: int
    """What is still to be bought after the transfer (before pack and minimum rounding)."""

    @property
    def idempotency_key(self) -> str:
        return f"tr:{self.alert_id}"


def propose_transfer(alert_id: str, product_id: int, receiver: BranchStock, wanted: int,
                     branches: Sequence[BranchStock], supplier_lead_time_days: float,
                     config: TransferConfig) -> TransferProposal | None:
    """The transfer to propose before buying `wanted` units for `receiver`, if any."""
    if wanted <= 0:
        return None
    donors = [b for b in branches if b.warehouse_id != receiver.warehouse_id and b.surplus > 0
              and config.transit(b.warehouse_id, receiver.warehouse_id) < supplier_lead_time_days]
    if not donors:
        return None
    donor = min(donors, key=lambda b: (-b.surplus,
                                       config.transit(b.warehouse_id, receiver.warehouse_id),
                                       b.warehouse_id))
    qty = min(wanted, donor.surplus)
    if qty < config.min_units:
        return None
    return TransferProposal(
        alert_id=alert_id, product_id=product_id, from_warehouse_id=donor.warehouse_id,
        to_warehouse_id=receiver.warehouse_id, qty=qty,
        transit_days=config.transit(donor.warehouse_id, receiver.warehouse_id),
        donor_surplus=donor.surplus, purchase_qty=wanted - qty)


def transfer_text(proposal: TransferProposal, branch_names: Mapping[int, str],
                  supplier_lead_time_days: float) -> str:
    """The proposal as the buyer reads it (es-MX)."""
    source = branch_names.get(proposal.from_warehouse_id, f"sucursal {proposal.from_warehouse_id}")
    target = branch_names.get(proposal.to_warehouse_id, f"sucursal {proposal.to_warehouse_id}")
    days = fmt_num(proposal.transit_days)
    text = (f"Traspaso sugerido: {proposal.qty} pzas de {source} a {target} (en {source} sobran "
            f"{proposal.donor_surplus} sobre su máximo); llega en {days} "
            f"día{'s' if days != '1' else ''}, contra {fmt_num(supplier_lead_time_days)} del "
            "proveedor.")
    if proposal.purchase_qty > 0:
        text += f" El resto ({proposal.purchase_qty} pzas) va en el pedido al proveedor."
    else:
        text += " Con el traspaso no hace falta comprar."
    return text


def branch_entry(position: InventoryPosition, order_up_to: int) -> list[int] | None:
    """What other branches need to know of this one: [available, position, order-up-to] while
    it holds surplus, else None."""
    stock = BranchStock(position.warehouse_id, position.available, position.position,
                        order_up_to)
    return [stock.available, stock.position, stock.order_up_to] if stock.surplus > 0 else None


def offer_transfer(alert: StockAlert, entries: Mapping[int, Sequence[int]],
                   branch_names: Mapping[int, str], config: TransferConfig) -> StockAlert:
    """The shortage alert with its transfer option, when a branch's surplus (`entries`:
    warehouse -> `branch_entry`) arrives before the supplier would; otherwise unchanged."""
    if alert.level not in SHORTAGE_LEVELS or alert.resolved or alert.proposed_qty <= 0:
        return alert
    branches = [BranchStock(w, int(e[0]), int(e[1]), int(e[2])) for w, e in entries.items()]
    receiver = BranchStock(alert.warehouse_id, alert.available, alert.position,
                           alert.order_up_to)
    proposal = propose_transfer(alert.alert_id, alert.product_id, receiver, alert.proposed_qty,
                                branches, alert.lead_time_days, config)
    if proposal is None:
        return alert
    option = TransferOption(
        from_warehouse_id=proposal.from_warehouse_id, qty=proposal.qty,
        transit_days=Decimal(str(proposal.transit_days)), donor_surplus=proposal.donor_surplus,
        purchase_qty=proposal.purchase_qty,
        text=transfer_text(proposal, branch_names, alert.lead_time_days))
    return alert.model_copy(update={"transfer": option})
