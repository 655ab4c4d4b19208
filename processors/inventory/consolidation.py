"""One purchase order per supplier, branch and day, not one per alert (pure).

A buyer's approvals of the same supplier for the same branch on the same local day (Mexico City)
join one draft purchase order, keyed `po:<supplier>:<warehouse>:<YYYY-MM-DD>`; each line keeps
its alert's key (`pol:<alert_id>`), so approving the same alert twice adds one line. The reply
(es-MX) says which line joined which order, what the order holds, whether it reaches the
supplier's minimum order value — if not, it proposes topping up with the supplier's other open
proposals for that branch, in the order given (most urgent first), until the minimum is met —
and how far the order is from free freight.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from processors.inventory.alerts import fmt_money

MEXICO_CITY = ZoneInfo("America/Mexico_City")
MONTHS = ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic")
ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class OrderTerms:
    """What the supplier asks of an order's value (MXN); 0 = no such term."""

    supplier_id: int
    supplier_name: str
    min_order_value: Decimal = ZERO
    free_freight_value: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class OrderLine:
    alert_id: str
    product_id: int
    title: str
    qty: int
    unit_cost: Decimal

    @property
    def total(self) -> Decimal:
        return (self.unit_cost * self.qty).quantize(ZERO)

    @property
    def key(self) -> str:
        return f"pol:{self.alert_id}"

    def to_list(self) -> list[Any]:
        return [self.alert_id, self.product_id, self.title, self.qty, str(self.unit_cost)]

    @classmethod
    def from_list(cls, v: list[Any]) -> OrderLine:
        return cls(str(v[0]), int(v[1]), str(v[2]), int(v[3]), Decimal(v[4]))


@dataclass(frozen=True, slots=True)
class DraftOrder:
    supplier_id: int
    warehouse_id: int
    day: date
    lines: tuple[OrderLine, ...] = ()

    @property
    def key(self) -> str:
        return f"po:{self.supplier_id}:{self.warehouse_id}:{self.day.isoformat()}"

    @property
    def total(self) -> Decimal:
        return sum((line.total for line in self.lines), ZERO)

    def has(self, alert_id: str) -> bool:
        return any(line.alert_id == alert_id for line in self.lines)

    def to_dict(self) -> dict[str, Any]:
        return {"s": self.supplier_id, "w": self.warehouse_id, "d": self.day.isoformat(),
                "l": [line.to_list() for line in self.lines]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DraftOrder:
        return cls(int(d["s"]), int(d["w"]), date.fromisoformat(d["d"]),
                   tuple(OrderLine.from_list(v) for v in d["l"]))


@dataclass(frozen=True, slots=True)
class JoinResult:
    order: DraftOrder
    line: OrderLine
    duplicate: bool
    missing_to_minimum: Decimal
    missing_to_free_freight: Decimal
    top_up: tuple[OrderLine, ...]


def join(current: DraftOrder | None, line: OrderLine, *, warehouse_id: int, terms: OrderTerms,
         now: datetime, candidates: Sequence[OrderLine] = (),
         tz: ZoneInfo = MEXICO_CITY) -> JoinResult:
    """Add an approved line to the day's draft order of its supplier and branch.

    `current` is the draft kept for this supplier × branch (any day); a draft of another day is
    left as it is and a new one starts. `candidates` are the supplier's other open proposals
    for the branch, most urgent first.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if line.qty <= 0:
        raise ValueError("an order line needs a positive quantity")
    today = now.astimezone(tz).date()
    order = current
    if order is None or order.day != today or (order.supplier_id, order.warehouse_id) != (
            terms.supplier_id, warehouse_id):
        order = DraftOrder(terms.supplier_id, warehouse_id, today)
    duplicate = order.has(line.alert_id)
    if not duplicate:
        order = replace(order, lines=(*order.lines, line))
    missing = max(ZERO, terms.min_order_value - order.total)
    top_up: list[OrderLine] = []
    covered = ZERO
    for candidate in candidates:
        if covered >= missing:
            break
        if candidate.qty > 0 and not order.has(candidate.alert_id):
            top_up.append(candidate)
            covered += candidate.total
    return JoinResult(order=order, line=line, duplicate=duplicate, missing_to_minimum=missing,
                      missing_to_free_freight=max(ZERO, terms.free_freight_value - order.total)
                      if terms.free_freight_value > 0 else ZERO,
                      top_up=tuple(top_up))


def join_reply(result: JoinResult, terms: OrderTerms, branch_names: Mapping[int, str]) -> str:
    """The buyer's answer (es-MX): which line joined which order, and what the order lacks."""
    order, line = result.order, result.line
    branch = branch_names.get(order.warehouse_id, f"sucursal {order.warehouse_id}")
    day = f"{order.day.day} {MONTHS[order.day.month - 1]}"
    what = f"{line.title} ({line.qty} pzas, {fmt_money(line.total)})"
    head = f"Ya estaba {what} en el" if result.duplicate else f"✅ Agregué {what} al"
    n = len(order.lines)
    parts = [f"{head} pedido borrador {order.key} de "
             f"{terms.supplier_name} para {branch} del {day}: {n} línea{'s' if n != 1 else ''}, "
             f"{fmt_money(order.total)}."]
    parts += [f"• {o.title}: {o.qty} pzas, {fmt_money(o.total)}" for o in order.lines]
    if result.missing_to_minimum > 0:
        text = (f"⚠️ Aún no llega al mínimo de {terms.supplier_name} "
                f"({fmt_money(terms.min_order_value)}): faltan "
                f"{fmt_money(result.missing_to_minimum)}.")
        if result.top_up:
            extra = ", ".join(f"{o.title} ({o.qty} pzas, {fmt_money(o.total)})"
                              for o in result.top_up)
            short = result.missing_to_minimum - sum((o.total for o in result.top_up), ZERO)
            text += (f" Para completarlo te propongo agregar: {extra}"
                     + (f" (aun así faltarían {fmt_money(short)})" if short > 0 else "")
                     + f". Responde «aprobar todo {terms.supplier_name}» para agregarlos.")
        else:
            text += " No hay más propuestas de este proveedor para completarlo."
        parts.append(text)
    elif terms.min_order_value > 0:
        parts.append(f"Cumple el mínimo de {terms.supplier_name} "
                     f"({fmt_money(terms.min_order_value)}).")
    if terms.free_freight_value > 0:
        parts.append(f"🚚 Faltan {fmt_money(result.missing_to_free_freight)} para flete gratis "
                     f"({fmt_money(terms.free_freight_value)})."
                     if result.missing_to_free_freight > 0 else "🚚 Con este pedido el flete "
                     "va gratis.")
    return "\n".join(parts)
