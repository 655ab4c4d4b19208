"""A buyer's approval as ERP commands and the reply that says what they did (pure).

- An approved alert with a transfer option (`StockAlert.transfer`, another branch's surplus)
  becomes a `CreateStockTransfer` keyed `tr:<alert_id>`, and only what the transfer does not
  cover is bought.
- What is bought joins the day's draft purchase order of its supplier and branch
  (`processors.inventory.consolidation.join`): an `AddPurchaseOrderLine` keyed `pol:<alert_id>`
  into the order `po:<supplier>:<warehouse>:<day>`, so tapping twice, or approving one alert and
  then «Aprobar todo», adds one line; the reply says which order the line joined, whether it
  reaches the supplier's minimum (proposing the supplier's other open proposals of the branch to
  top it up) and how far free freight is.
- `consolidate` groups open proposals per supplier × warehouse (the digest's totals).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from processors.inventory.alerts import SEVERITY, fmt_num
from processors.inventory.consolidation import DraftOrder, OrderLine, OrderTerms, join, join_reply
from processors.inventory.policy import round_order_qty
from schemas.alerts import StockAlert
from schemas.commands import AddPurchaseOrderLine, CreateStockTransfer, PurchaseLine
from schemas.erp import Supplier
from schemas.timezones import MEXICO_CITY

BuyerCommand = AddPurchaseOrderLine | CreateStockTransfer


def unit_cost_for(alert: StockAlert, qty: int) -> Decimal:
    """The alert's supplier cost for `qty` units: the largest break ≤ qty, else the list cost."""
    cost = alert.base_unit_cost
    for min_qty, unit_cost in alert.price_breaks:
        if min_qty > qty:
            break
        cost = unit_cost
    return cost


def order_terms(supplier_id: int, supplier: Supplier | None) -> OrderTerms:
    """The supplier's order terms; none while its row is unknown."""
    if supplier is None:
        return OrderTerms(supplier_id, f"proveedor {supplier_id}")
    return OrderTerms(supplier_id, supplier.name, supplier.min_order_value,
                      supplier.free_freight_value)


def command_key(command: BuyerCommand) -> bytes:
    """The `erp.commands` key: one supplier × branch's lines in order on one partition."""
    if isinstance(command, CreateStockTransfer):
        return f"tr:{command.from_warehouse_id}:{command.to_warehouse_id}".encode()
    return f"po:{command.supplier_id}:{command.warehouse_id}".encode()


def by_urgency(alerts: Iterable[StockAlert]) -> list[StockAlert]:
    return sorted(alerts, key=lambda a: (-SEVERITY[a.level], -a.total_cost, a.alert_id))


def proposal_line(alert: StockAlert, title: str, qty: int | None = None) -> OrderLine:
    qty = alert.proposed_qty if qty is None else qty
    return OrderLine(alert.alert_id, alert.product_id, title, qty, unit_cost_for(alert, qty))


@dataclass(frozen=True, slots=True)
class Approval:
    """What approving one alert does: its commands, what the reply says of the transfer and of
    the order, and the draft order as it stands after it (None when nothing is bought)."""

    commands: tuple[BuyerCommand, ...]
    transfer_text: str | None
    order_text: str
    draft: DraftOrder | None

    @property
    def text(self) -> str:
        return "\n".join(t for t in (self.transfer_text, self.order_text) if t)


@dataclass(frozen=True, slots=True)
class OrderBook:
    """What approvals read besides the alerts: suppliers' order terms by id, the draft order kept
    per (supplier, warehouse), branch names by id."""

    terms: Mapping[int, OrderTerms] = field(default_factory=dict)
    drafts: Mapping[tuple[int, int], DraftOrder] = field(default_factory=dict)
    branch_names: Mapping[int, str] = field(default_factory=dict)

    def terms_of(self, supplier_id: int, name: str) -> OrderTerms:
        return self.terms.get(supplier_id) or OrderTerms(supplier_id, name)


def approve(alert: StockAlert, *, title: str, terms: OrderTerms, draft: DraftOrder | None,
            now: datetime, branch_names: Mapping[int, str], requested_by: str,
            qty: int | None = None, candidates: Sequence[OrderLine] = ()) -> Approval:
    """Approve the alert's proposal: its transfer first (unless the buyer typed the quantity to
    buy, `qty`), the rest into the day's draft order (`draft` is the one kept for the alert's
    supplier × branch)."""
    commands: list[BuyerCommand] = []
    transfer_text = None
    buy = alert.proposed_qty if qty is None else qty
    transfer = alert.transfer if qty is None else None
    if transfer is not None:
        commands.append(CreateStockTransfer(
            idempotency_key=f"tr:{alert.alert_id}", issued_at=now, caused_by=alert.alert_id,
            product_id=alert.product_id, from_warehouse_id=transfer.from_warehouse_id,
            to_warehouse_id=alert.warehouse_id, qty=transfer.qty,
            transit_days=transfer.transit_days, requested_by=requested_by))
        source = branch_names.get(transfer.from_warehouse_id,
                                  f"sucursal {transfer.from_warehouse_id}")
        target = branch_names.get(alert.warehouse_id, f"sucursal {alert.warehouse_id}")
        transfer_text = (f"🔁 Traspaso solicitado: {transfer.qty} pzas de {title} de {source} a "
                         f"{target}; llega en ~{fmt_num(float(transfer.transit_days))} días.")
        buy = (round_order_qty(transfer.purchase_qty, alert.pack_multiple, alert.min_order_qty)
               if transfer.purchase_qty > 0 else 0)
    if buy <= 0:
        return Approval(tuple(commands), transfer_text, "Con el traspaso no hace falta comprar.",
                        None)
    line = proposal_line(alert, title, buy)
    result = join(draft, line, warehouse_id=alert.warehouse_id, terms=terms, now=now,
                  candidates=candidates)
    expected = now + timedelta(days=math.ceil(alert.lead_time_days))
    commands.append(AddPurchaseOrderLine(
        idempotency_key=line.key, issued_at=now, caused_by=alert.alert_id,
        order_key=result.order.key, supplier_id=terms.supplier_id,
        warehouse_id=alert.warehouse_id,
        line=PurchaseLine(product_id=alert.product_id, qty=buy, unit_cost=line.unit_cost),
        expected_at=expected.astimezone(MEXICO_CITY).date(), requested_by=requested_by))
    return Approval(tuple(commands), transfer_text, join_reply(result, terms, branch_names),
                    result.order)


@dataclass(frozen=True, slots=True)
class ConsolidatedProposal:
    """Several proposals of one supplier for one warehouse (one order)."""

    supplier_id: int
    warehouse_id: int
    alerts: tuple[StockAlert, ...]

    @property
    def alert_ids(self) -> tuple[str, ...]:
        return tuple(a.alert_id for a in self.alerts)

    @property
    def total_cost(self) -> Decimal:
        return sum((a.total_cost for a in self.alerts), Decimal("0.00"))

    @property
    def units(self) -> int:
        return sum(a.proposed_qty for a in self.alerts)


def consolidate(alerts: Iterable[StockAlert]) -> list[ConsolidatedProposal]:
    """Group open proposals by supplier × warehouse (a PO has one warehouse); one line per
    product (the latest alert wins); alerts sorted by id, groups by supplier then warehouse."""
    latest: dict[tuple[int, int], StockAlert] = {}
    for alert in alerts:
        if alert.resolved or alert.proposed_qty <= 0:
            continue
        key = (alert.product_id, alert.warehouse_id)
        held = latest.get(key)
        if held is None or (alert.at, alert.event_id) > (held.at, held.event_id):
            latest[key] = alert
    groups: dict[tuple[int, int], list[StockAlert]] = {}
    for alert in latest.values():
        groups.setdefault((alert.supplier_id, alert.warehouse_id), []).append(alert)
    return [ConsolidatedProposal(s, w, tuple(sorted(group, key=lambda a: a.alert_id)))
            for (s, w), group in sorted(groups.items())]
