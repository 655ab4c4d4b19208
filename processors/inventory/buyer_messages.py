"""What buyers read and answer on WhatsApp (and e-mail): alerts, replies, digests, PO drafts.

- `alert_message`: one alert as a short es-MX interactive message with `Aprobar`, `Posponer`,
  `Ajustar` buttons whose ids carry the alert id (`approve:<alert_id>`, ...).
- `parse_buyer_reply`: a button tap, a quantity after `Ajustar` ("24", "pide 24"), or a
  consolidation command ("Aprobar todo Michelin") as a typed intent.
- `awaits_feed`: a tap on an alert not read yet, to be answered after the buyer's feed.
- `respond`: the intent turned into a reply, purchase-order draft commands and snoozes; a phone
  that is not a buyer, an unknown alert or another buyer's brand gets a polite refusal and no
  command.
- `purchase_order_draft` / `consolidate`: `CreatePurchaseOrderDraft` commands. The idempotency
  key of one alert's PO is `po:<alert_id>` whatever the quantity, so tapping twice (or approving
  one alert and then "todo") creates one PO; a consolidated PO of several alerts of the same
  supplier and warehouse is keyed by a hash of the sorted alert ids.
- `morning_digest`: the morning summary as a WhatsApp text and an e-mail with an HTML table.

Pure: the caller passes `now` (the inbound message's time) and looks up rows; same inputs, same
outputs.
"""

from __future__ import annotations

import hashlib
import html
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from processors.inventory.alerts import LEVEL_LABELS, ORDERING_LEVELS, SEVERITY, fmt_money, fmt_num
from processors.inventory.policy import round_order_qty
from schemas.alerts import AlertLevel, StockAlert
from schemas.commands import Button, CreatePurchaseOrderDraft, OutboundMessage, PurchaseLine
from schemas.erp import Brand, Buyer, Product
from schemas.timezones import MEXICO_CITY
from schemas.whatsapp import InboundMessage

"""Central Mexico time (no daylight saving since 2022), for dates and times buyers read."""

ALERT_TEMPLATE = "alerta_inventario"
DIGEST_TEMPLATE = "resumen_inventario"
WHATSAPP_BODY_LIMIT = 1024  # interactive message body

LEVEL_ICONS: dict[AlertLevel, str] = {
    AlertLevel.CRITICO: "🔴",
    AlertLevel.ALTO: "🟠",
    AlertLevel.MEDIO: "🟡",
    AlertLevel.SIN_MOVIMIENTO: "💤",
    AlertLevel.SOBRESTOCK: "📦",
    AlertLevel.OPORTUNIDAD: "💰",
}


@dataclass(frozen=True, slots=True)
class ProductLabel:
    """How a buyer recognises a product, and who buys its brand (None = any buyer)."""

    product_id: int
    sku: str
    brand: str
    model: str
    tire_size: str
    buyer_id: int | None = None

    @classmethod
    def from_rows(cls, product: Product, brand: Brand) -> ProductLabel:
        return cls(product.id, product.sku, brand.name, product.model, product.tire_size,
                   brand.buyer_id)

    @property
    def title(self) -> str:
        return f"{self.brand} {self.model} {self.tire_size}"


# --------------------------------------------------------------------------- intents


@dataclass(frozen=True, slots=True)
class Approve:
    alert_id: str


@dataclass(frozen=True, slots=True)
class Snooze:
    alert_id: str


@dataclass(frozen=True, slots=True)
class AdjustRequest:
    """`Ajustar` tapped: ask for the quantity."""

    alert_id: str


@dataclass(frozen=True, slots=True)
class AdjustQuantity:
    """The quantity answered after `Ajustar`."""

    alert_id: str
    qty: int


@dataclass(frozen=True, slots=True)
class CancelAdjust:
    alert_id: str


@dataclass(frozen=True, slots=True)
class ApproveAll:
    """Approve every pending proposal, of one brand (or supplier) when `brand` is given."""

    brand: str | None = None


@dataclass(frozen=True, slots=True)
class Unrecognized:
    text: str


BuyerIntent = (Approve | Snooze | AdjustRequest | AdjustQuantity | CancelAdjust | ApproveAll
               | Unrecognized)

_BUTTON_ACTIONS: dict[str, type[Approve] | type[Snooze] | type[AdjustRequest]] = {
    "approve": Approve, "snooze": Snooze, "adjust": AdjustRequest}
APPROVE_ALL_BUTTON = "approve_all"

_APPROVE_ALL = re.compile(
    r"^\s*(?:aprobar|aprueba|apruebo|apruebalo|autorizar|autoriza|autorizo)\s+"
    r"(?:todo|todos|todas)(?:\s+(?:lo|los|las))?(?:\s+(?:de|del))?"
    r"(?:\s+(?P<brand>\S.*?))?\s*[.!]*\s*$")
_QUANTITY = re.compile(r"^\s*(?:[a-z]+\s+){0,3}(?P<qty>\d{1,5})(?:\s+[a-z]+){0,2}\s*[.!]*\s*$")
_CANCEL = re.compile(r"^\s*(?:cancelar|cancela|cancelo|no|nada|olvidalo)\s*[.!]*\s*$")


def _fold(text: str) -> str:
    """Lower case without accents, one character for one (so match spans fit the original)."""
    return "".join(unicodedata.normalize("NFD", ch)[0].lower()[:1] or ch for ch in text)


def button_id(action: str, alert_id: str) -> str:
    return f"{action}:{alert_id}"


def parse_buyer_reply(message: InboundMessage, pending_adjust: str | None = None) -> BuyerIntent:
    """A buyer's message as an intent. `pending_adjust` is the alert whose `Ajustar` the buyer
    tapped last (kept per phone by the caller); only then is a bare quantity understood."""
    if message.button_id:
        if message.button_id == APPROVE_ALL_BUTTON:
            return ApproveAll()
        action, _, alert_id = message.button_id.partition(":")
        intent = _BUTTON_ACTIONS.get(action)
        if intent is not None and alert_id:
            return intent(alert_id)
    text = message.text or message.button_title or ""
    folded = _fold(text)
    match = _APPROVE_ALL.match(folded)
    if match:
        start, end = match.span("brand")
        return ApproveAll(brand=text[start:end].strip() if start >= 0 else None)
    if pending_adjust:
        match = _QUANTITY.match(folded)
        if match:
            return AdjustQuantity(pending_adjust, int(match.group("qty")))
        if _CANCEL.match(folded):
            return CancelAdjust(pending_adjust)
    return Unrecognized(text)


# --------------------------------------------------------------------------- alert messages


def _level_title(alert: StockAlert) -> str:
    return LEVEL_LABELS[alert.level].upper()


def alert_message(alert: StockAlert, label: ProductLabel, supplier_name: str, to: str,
                  warehouse_name: str | None = None) -> OutboundMessage:
    """The WhatsApp message for one alert event (buttons only while it asks for a decision).

    Names the `alerta_inventario` template (es_MX) as the fallback outside the 24-hour window:
    [level, sku, product, proposal or reason].
    """
    where = f" · {warehouse_name}" if warehouse_name else f" · almacén {alert.warehouse_id}"
    if alert.resolved:
        head = f"✅ RESUELTA ({LEVEL_LABELS[alert.level]}) · {label.sku}"
    elif alert.reminder:
        head = f"⏰ RECORDATORIO {LEVEL_ICONS[alert.level]} {_level_title(alert)} · {label.sku}"
    else:
        head = f"{LEVEL_ICONS[alert.level]} {_level_title(alert)} · {label.sku}"
        if alert.previous_level is not None:
            head += f" (antes {LEVEL_LABELS[alert.previous_level]})"
    cover = "sin demanda" if alert.days_of_cover is None else f"{fmt_num(alert.days_of_cover)} días"
    lines = [
        head,
        f"{label.title}{where}",
        f"Stock: {alert.available} disp. + {alert.on_order + alert.in_transit} por llegar · "
        f"cobertura {cover}",
    ]
    lines.append(f"Motivo: {alert.reason}")
    proposal = ""
    if alert.proposed_qty > 0:
        proposal = (f"{alert.proposed_qty:,} pzas a {supplier_name}, "
                    f"{fmt_money(alert.unit_cost)} c/u = {fmt_money(alert.total_cost)}")
        lines.append(f"Propuesta: {proposal} (llega en ~{fmt_num(alert.lead_time_days)} días)")
        if alert.break_min_qty is not None and alert.annual_savings > 0:
            lines.append(f"💰 Precio por volumen desde {alert.break_min_qty:,} pzas: ahorro "
                         f"estimado {fmt_money(alert.annual_savings)} al año.")
        if alert.level is AlertLevel.CRITICO:
            lines.append("⚠️ Pedir hoy; si es posible, traspasar de otra sucursal mientras llega.")
    elif not alert.resolved:
        lines.append(f"Qué hacer: {alert.recommendation}")
    text = "\n".join(lines)
    if len(text) > WHATSAPP_BODY_LIMIT:
        text = text[:WHATSAPP_BODY_LIMIT - 1] + "…"
    buttons: list[Button] = []
    if not alert.resolved:
        if alert.proposed_qty > 0:
            buttons = [Button(id=button_id("approve", alert.alert_id), title="Aprobar"),
                       Button(id=button_id("snooze", alert.alert_id), title="Posponer"),
                       Button(id=button_id("adjust", alert.alert_id), title="Ajustar")]
        else:
            buttons = [Button(id=button_id("snooze", alert.alert_id), title="Posponer")]
    status = "resuelta" if alert.resolved else LEVEL_LABELS[alert.level]
    return OutboundMessage(
        idempotency_key=f"alert:{alert.event_id}:{to}", channel="whatsapp", to=to, text=text,
        buttons=buttons, template=ALERT_TEMPLATE,
        template_params=[status, label.sku, label.title, proposal or alert.reason[:200]],
        context={"kind": "stock_alert", "alert_id": alert.alert_id, "event_id": alert.event_id},
        issued_at=alert.at,
    )


# --------------------------------------------------------------------------- purchase orders


def unit_cost_for(alert: StockAlert, qty: int) -> Decimal:
    """The alert's supplier cost for `qty` units: the largest break ≤ qty, else the list cost."""
    cost = alert.base_unit_cost
    for min_qty, unit_cost in alert.price_breaks:
        if min_qty > qty:
            break
        cost = unit_cost
    return cost


def _expected_at(lead_time_days: float, now: datetime) -> datetime:
    return (now + timedelta(days=math.ceil(lead_time_days))).astimezone(MEXICO_CITY)


def purchase_order_draft(alert: StockAlert, now: datetime, *, qty: int | None = None,
                         requested_by: str = "topllantas") -> CreatePurchaseOrderDraft:
    """The PO draft for one alert's proposal (or an adjusted `qty`); key `po:<alert_id>`."""
    qty = alert.proposed_qty if qty is None else qty
    return CreatePurchaseOrderDraft(
        idempotency_key=f"po:{alert.alert_id}", issued_at=now, caused_by=alert.alert_id,
        supplier_id=alert.supplier_id, warehouse_id=alert.warehouse_id,
        lines=[PurchaseLine(product_id=alert.product_id, qty=qty,
                            unit_cost=unit_cost_for(alert, qty))],
        expected_at=_expected_at(alert.lead_time_days, now).date(), requested_by=requested_by,
    )


@dataclass(frozen=True, slots=True)
class ConsolidatedProposal:
    """Several proposals of one supplier for one warehouse as one purchase order."""

    supplier_id: int
    warehouse_id: int
    alerts: tuple[StockAlert, ...]

    @property
    def alert_ids(self) -> tuple[str, ...]:
        return tuple(a.alert_id for a in self.alerts)

    @property
    def idempotency_key(self) -> str:
        """`po:<alert_id>` for one alert (the same PO as approving it alone), else a hash of the
        sorted alert ids."""
        if len(self.alerts) == 1:
            return f"po:{self.alerts[0].alert_id}"
        digest = hashlib.sha256(",".join(sorted(self.alert_ids)).encode()).hexdigest()[:24]
        return f"po:{self.supplier_id}:{self.warehouse_id}:{digest}"

    @property
    def total_cost(self) -> Decimal:
        return sum((a.total_cost for a in self.alerts), Decimal("0.00"))

    @property
    def units(self) -> int:
        return sum(a.proposed_qty for a in self.alerts)

    def to_command(self, now: datetime, requested_by: str = "topllantas"
                   ) -> CreatePurchaseOrderDraft:
        lead = max(a.lead_time_days for a in self.alerts)
        return CreatePurchaseOrderDraft(
            idempotency_key=self.idempotency_key, issued_at=now,
            caused_by=",".join(self.alert_ids)[:500], supplier_id=self.supplier_id,
            warehouse_id=self.warehouse_id,
            lines=[PurchaseLine(product_id=a.product_id, qty=a.proposed_qty,
                                unit_cost=a.unit_cost) for a in self.alerts],
            expected_at=_expected_at(lead, now).date(), requested_by=requested_by,
        )


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


# --------------------------------------------------------------------------- replies


@dataclass(frozen=True, slots=True)
class SnoozeRequest:
    """Apply `processors.inventory.alerts.snooze(state, until)` to this product × warehouse."""

    alert_id: str
    product_id: int
    warehouse_id: int
    until: datetime


@dataclass(frozen=True, slots=True)
class BuyerResponse:
    """What to do with a buyer's message: one reply, and maybe commands and snoozes.

    `approved_alert_ids` should leave the caller's pending proposals; `pending_adjust` is the
    alert waiting for a quantity from this phone (None clears it).
    """

    reply: OutboundMessage
    commands: tuple[CreatePurchaseOrderDraft, ...] = ()
    approved_alert_ids: tuple[str, ...] = ()
    snoozes: tuple[SnoozeRequest, ...] = ()
    pending_adjust: str | None = None


NOT_A_BUYER_TEXT = (
    "Hola. Este número no está registrado como comprador de TopLlantas, así que no puedo "
    "aprobar ni modificar pedidos desde aquí. Si crees que es un error, pide a tu administrador "
    "que registre tu teléfono.")
HELP_TEXT = (
    "No entendí tu mensaje. Puedes usar los botones de cada alerta (Aprobar, Posponer, Ajustar) "
    "o escribir «Aprobar todo» o «Aprobar todo Michelin».")


def _unknown_alert_text(alert_id: str) -> str:
    return (f"No encontré una propuesta pendiente con el folio {alert_id}. Puede que ya se haya "
            "aprobado, resuelto o reemplazado por una alerta más reciente; revisa el último "
            "mensaje o el resumen del día.")


def awaits_feed(intent: BuyerIntent, open_alerts: Mapping[str, StockAlert]) -> bool:
    """A tap on an alert the caller has not read from the buyer's feed (yet).

    The feed record of an alert is written before its WhatsApp message is sent, but the caller
    may read the buyer's messages ahead of the feed: such a tap should be answered once the feed
    written before it has been read, not refused now.
    """
    return isinstance(intent, Approve | Snooze | AdjustRequest) and (
        intent.alert_id not in open_alerts)


def respond(intent: BuyerIntent, *, phone: str, buyer: Buyer | None,
            open_alerts: Mapping[str, StockAlert], labels: Mapping[int, ProductLabel],
            supplier_names: Mapping[int, str], now: datetime, message_id: str,
            snooze_hours: float = 24.0) -> BuyerResponse:
    """Answer one buyer message.

    `buyer` is the buyer registered with `phone` (None: not a buyer); `open_alerts` are the
    pending alerts by alert id; `labels` the products by id. A buyer may act on products of
    brands assigned to them or to nobody.
    """

    def reply(text: str) -> OutboundMessage:
        return OutboundMessage(
            idempotency_key=f"buyer-reply:{message_id}", channel="whatsapp", to=phone,
            text=text, context={"kind": "buyer_reply", "in_reply_to": message_id},
            reply_to=message_id, issued_at=now)

    if buyer is None:
        return BuyerResponse(reply(NOT_A_BUYER_TEXT))

    def mine(alert: StockAlert) -> bool:
        label = labels.get(alert.product_id)
        return label is not None and label.buyer_id in (None, buyer.id)

    if isinstance(intent, Unrecognized):
        return BuyerResponse(reply(HELP_TEXT))
    if isinstance(intent, ApproveAll):
        return _approve_all(intent, buyer, open_alerts, labels, supplier_names, now, mine, reply)

    alert = open_alerts.get(intent.alert_id)
    if alert is None or alert.resolved:
        return BuyerResponse(reply(_unknown_alert_text(intent.alert_id)))
    label = labels.get(alert.product_id)
    if label is None or not mine(alert):
        brand = label.brand if label else "otra marca"
        return BuyerResponse(reply(
            f"La alerta {alert.alert_id} es de {brand}, que atiende otro comprador; no hice "
            "ningún cambio."))
    supplier = supplier_names.get(alert.supplier_id, f"proveedor {alert.supplier_id}")
    requested_by = f"comprador:{buyer.id}"

    if isinstance(intent, Snooze):
        until = now + timedelta(hours=snooze_hours)
        local = until.astimezone(MEXICO_CITY)
        return BuyerResponse(
            reply(f"⏸️ Pospuesta la alerta de {label.sku} hasta el {local:%d/%m a las %H:%M}. "
                  "Te aviso antes si empeora."),
            snoozes=(SnoozeRequest(alert.alert_id, alert.product_id, alert.warehouse_id,
                                   until),))
    if isinstance(intent, CancelAdjust):
        return BuyerResponse(reply(f"Listo, no cambié nada de {label.sku}."))
    if alert.proposed_qty <= 0 or alert.level not in ORDERING_LEVELS:
        return BuyerResponse(reply(
            f"La alerta de {label.sku} ({LEVEL_LABELS[alert.level]}) no propone compra; no hice "
            "ningún pedido."))
    if isinstance(intent, AdjustRequest):
        rules = f"múltiplos de {alert.pack_multiple}, " if alert.pack_multiple > 1 else ""
        return BuyerResponse(
            reply(f"¿Cuántas piezas de {label.sku} pido a {supplier}? Propuesta: "
                  f"{alert.proposed_qty} ({rules}mínimo {alert.min_order_qty}). Responde solo "
                  "el número, por ejemplo 24, o «cancelar»."),
            pending_adjust=alert.alert_id)
    if isinstance(intent, AdjustQuantity) and intent.qty <= 0:
        return BuyerResponse(
            reply("La cantidad debe ser mayor a cero. Responde solo el número, por ejemplo 24, "
                  "o «cancelar»."),
            pending_adjust=alert.alert_id)

    qty = alert.proposed_qty
    note = ""
    if isinstance(intent, AdjustQuantity):
        qty = round_order_qty(intent.qty, alert.pack_multiple, alert.min_order_qty)
        if qty != intent.qty:
            note = (f" (pediste {intent.qty}; redondeé a {qty} por múltiplo de "
                    f"{alert.pack_multiple} y mínimo de {alert.min_order_qty})")
    command = purchase_order_draft(alert, now, qty=qty, requested_by=requested_by)
    total = sum(line.qty * line.unit_cost for line in command.lines)
    return BuyerResponse(
        reply(f"✅ Listo: borrador de orden de compra a {supplier} por {qty} pzas de "
              f"{label.sku}{note}, {fmt_money(total)}. Lo verás en el ERP como borrador."),
        commands=(command,), approved_alert_ids=(alert.alert_id,))


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _approve_all(intent: ApproveAll, buyer: Buyer, open_alerts: Mapping[str, StockAlert],
                 labels: Mapping[int, ProductLabel], supplier_names: Mapping[int, str],
                 now: datetime, mine: Callable[[StockAlert], bool],
                 reply: Callable[[str], OutboundMessage]) -> BuyerResponse:
    """Every pending proposal of the buyer (of one brand, or one supplier by name prefix)."""
    wanted = _fold(intent.brand).strip() if intent.brand else None

    def wanted_alert(alert: StockAlert) -> bool:
        if (alert.resolved or alert.proposed_qty <= 0 or alert.level not in ORDERING_LEVELS
                or not mine(alert)):
            return False
        if wanted is None:
            return True
        supplier = _fold(supplier_names.get(alert.supplier_id, ""))
        return _fold(labels[alert.product_id].brand) == wanted or supplier.startswith(wanted)

    proposals = consolidate(a for a in open_alerts.values() if wanted_alert(a))
    if not proposals:
        of = f" de {intent.brand}" if intent.brand else ""
        return BuyerResponse(reply(f"No tengo propuestas de compra pendientes{of} para ti."))
    requested_by = f"comprador:{buyer.id}"
    commands = tuple(p.to_command(now, requested_by) for p in proposals)
    lines = [f"✅ Listo ({intent.brand or 'todo'}): "
             + _plural(len(commands), "borrador de orden de compra",
                       "borradores de órdenes de compra") + ":"]
    for proposal in proposals:
        name = supplier_names.get(proposal.supplier_id, f"proveedor {proposal.supplier_id}")
        lines.append(f"• {name} (almacén {proposal.warehouse_id}): "
                     f"{_plural(len(proposal.alerts), 'producto', 'productos')}, "
                     f"{proposal.units} pzas, {fmt_money(proposal.total_cost)}")
    lines.append("Los verás en el ERP como borradores.")
    approved = tuple(sorted(a for p in proposals for a in p.alert_ids))
    return BuyerResponse(reply("\n".join(lines)), commands=commands, approved_alert_ids=approved)


# --------------------------------------------------------------------------- morning digest


def _buyer_alerts(alerts: Iterable[StockAlert], buyer: Buyer,
                  labels: Mapping[int, ProductLabel]) -> list[StockAlert]:
    """Active alerts of the buyer's brands, most severe and most expensive first."""
    chosen = [a for a in alerts if not a.resolved and a.product_id in labels
              and labels[a.product_id].buyer_id in (None, buyer.id)]
    return sorted(chosen, key=lambda a: (-SEVERITY[a.level], -a.total_cost, a.alert_id))


def morning_digest(alerts: Iterable[StockAlert], *, buyer: Buyer,
                   labels: Mapping[int, ProductLabel], supplier_names: Mapping[int, str],
                   now: datetime, max_lines: int = 8) -> tuple[OutboundMessage, OutboundMessage]:
    """The morning summary for one buyer: (WhatsApp text, e-mail with an HTML table).

    Counts per level, the most urgent proposals, the totals per supplier (what «Aprobar todo»
    would create), and an `Aprobar todo` button when there is something to approve. Keys are
    per buyer and day, so a rerun the same morning sends nothing new.
    """
    mine = _buyer_alerts(alerts, buyer, labels)
    day = now.astimezone(MEXICO_CITY)
    date_text = f"{day:%d/%m/%Y}"
    counts = {level: sum(1 for a in mine if a.level is level) for level in AlertLevel}
    summary = " · ".join(f"{LEVEL_ICONS[level]} {n} {LEVEL_LABELS[level]}"
                         for level, n in counts.items() if n)
    proposals = consolidate(a for a in mine if a.level in ORDERING_LEVELS)
    to_buy = [a for a in mine if a.level in ORDERING_LEVELS and a.proposed_qty > 0]
    lines = [f"☀️ Resumen de inventario · {date_text}",
             summary or "✅ Sin alertas de inventario pendientes."]
    if to_buy:
        lines.append("")
        lines.append("Por pedir:")
        for alert in to_buy[:max_lines]:
            label = labels[alert.product_id]
            lines.append(f"{LEVEL_ICONS[alert.level]} {label.sku} {label.tire_size}: "
                         f"{alert.available} disp., {_cover(alert)} → {alert.proposed_qty} pzas, "
                         f"{fmt_money(alert.total_cost)}")
        if len(to_buy) > max_lines:
            lines.append(f"… y {len(to_buy) - max_lines} más (detalle en el correo).")
        lines.append("")
        lines.append("Por proveedor:")
        for proposal in proposals:
            name = supplier_names.get(proposal.supplier_id, f"proveedor {proposal.supplier_id}")
            lines.append(f"• {name}: {_plural(len(proposal.alerts), 'producto', 'productos')}, "
                         f"{fmt_money(proposal.total_cost)}")
        lines.append("")
        lines.append("Responde «Aprobar todo» o «Aprobar todo <marca>» para crear los "
                     "borradores de OC.")
    others = [a for a in mine if a.level not in ORDERING_LEVELS]
    if others:
        lines.append(f"Además: {_plural(len(others), 'producto', 'productos')} con sobrestock "
                     "o sin movimiento (ver correo).")
    total = sum((p.total_cost for p in proposals), Decimal("0.00"))
    whatsapp = OutboundMessage(
        idempotency_key=f"digest:{buyer.id}:{day:%Y-%m-%d}:whatsapp", channel="whatsapp",
        to=buyer.phone, text="\n".join(lines)[:4096],
        buttons=[Button(id=APPROVE_ALL_BUTTON, title="Aprobar todo")] if proposals else [],
        template=DIGEST_TEMPLATE,
        template_params=[date_text, str(counts[AlertLevel.CRITICO]),
                         str(counts[AlertLevel.ALTO]), fmt_money(total)],
        context={"kind": "stock_digest", "buyer_id": str(buyer.id)}, issued_at=now)
    subject = (f"Resumen de inventario {date_text}: "
               f"{_plural(counts[AlertLevel.CRITICO], 'crítico', 'críticos')}, "
               f"{_plural(counts[AlertLevel.ALTO], 'alto', 'altos')}, "
               f"propuestas por {fmt_money(total)}")
    email = OutboundMessage(
        idempotency_key=f"digest:{buyer.id}:{day:%Y-%m-%d}:email", channel="email",
        to=buyer.email, subject=subject,
        text="\n".join(lines),
        html=digest_html(mine, labels, supplier_names, title=f"Resumen de inventario · {date_text}",
                         greeting=f"Buenos días, {buyer.name}."),
        context={"kind": "stock_digest", "buyer_id": str(buyer.id)}, issued_at=now)
    return whatsapp, email


def _cover(alert: StockAlert) -> str:
    return "sin demanda" if alert.days_of_cover is None else f"{fmt_num(alert.days_of_cover)} d"


DIGEST_COLUMNS = ("Nivel", "SKU", "Producto", "Disponible", "Por llegar", "Punto de reorden",
                  "Cobertura (días)", "Propuesta (pzas)", "Proveedor", "Costo unitario", "Total",
                  "Motivo")


def digest_html(alerts: Sequence[StockAlert], labels: Mapping[int, ProductLabel],
                supplier_names: Mapping[int, str], *, title: str, greeting: str) -> str:
    """An HTML e-mail body: one table row per alert, inline styles, everything escaped."""
    cell = 'style="border:1px solid #ccc;padding:4px 6px;text-align:{}"'
    head = "".join(f'<th {cell.format("left")}>{html.escape(c)}</th>' for c in DIGEST_COLUMNS)
    rows = []
    for alert in alerts:
        label = labels[alert.product_id]
        values: list[tuple[str, str]] = [
            (f"{LEVEL_ICONS[alert.level]} {LEVEL_LABELS[alert.level]}", "left"),
            (label.sku, "left"),
            (label.title, "left"),
            (str(alert.available), "right"),
            (str(alert.on_order + alert.in_transit), "right"),
            (str(alert.reorder_point), "right"),
            ("—" if alert.days_of_cover is None else fmt_num(alert.days_of_cover), "right"),
            (str(alert.proposed_qty) if alert.proposed_qty else "—", "right"),
            (supplier_names.get(alert.supplier_id, str(alert.supplier_id)), "left"),
            (fmt_money(alert.unit_cost), "right"),
            (fmt_money(alert.total_cost) if alert.proposed_qty else "—", "right"),
            (alert.reason, "left"),
        ]
        rows.append("<tr>" + "".join(f"<td {cell.format(align)}>{html.escape(value)}</td>"
                                     for value, align in values) + "</tr>")
    body = ("".join(rows) if rows else
            f'<tr><td colspan="{len(DIGEST_COLUMNS)}">Sin alertas pendientes.</td></tr>')
    return (f'<html><body style="font-family:Arial,sans-serif;font-size:13px">'
            f"<h2>{html.escape(title)}</h2><p>{html.escape(greeting)}</p>"
            f'<table style="border-collapse:collapse"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>"
            "<p>Para aprobar, responde por WhatsApp «Aprobar todo» o usa los botones de cada "
            "alerta.</p></body></html>")
