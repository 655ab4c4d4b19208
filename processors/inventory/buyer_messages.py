"""What buyers read and answer on WhatsApp: alert messages and the replies to their messages.

- `alert_message`: one alert as a short es-MX interactive message with `Aprobar`, `Posponer`,
  `Ajustar` buttons whose ids carry the alert id (`approve:<alert_id>`, ...), and its transfer
  option when another branch has surplus.
- `awaits_feed`: a tap on an alert not read yet, to be answered after the buyer's feed.
- `respond`: the intent (processors/inventory/buyer_intents.py) turned into a reply, ERP commands
  (transfers and lines of the day's draft orders: processors/inventory/buyer_orders.py) and
  snoozes; a phone that is not a buyer, an unknown alert or another buyer's brand gets a polite
  refusal and no command.

The morning digest is processors/inventory/buyer_digest.py. Pure: the caller passes `now` (the
inbound message's time) and looks up rows; same inputs, same outputs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from processors.inventory.alerts import LEVEL_LABELS, ORDERING_LEVELS, fmt_money, fmt_num
from processors.inventory.buyer_intents import (
    AdjustQuantity,
    AdjustRequest,
    Approve,
    ApproveAll,
    BuyerIntent,
    CancelAdjust,
    Snooze,
    Unrecognized,
    button_id,
    fold,
)
from processors.inventory.buyer_labels import LEVEL_ICONS, ProductLabel, plural
from processors.inventory.buyer_orders import (
    BuyerCommand,
    OrderBook,
    approve,
    by_urgency,
    consolidate,
    proposal_line,
)
from processors.inventory.consolidation import DraftOrder
from processors.inventory.policy import round_order_qty
from schemas.alerts import AlertLevel, StockAlert
from schemas.commands import Button, OutboundMessage
from schemas.erp import Buyer
from schemas.timezones import MEXICO_CITY

ALERT_TEMPLATE = "alerta_inventario"
WHATSAPP_BODY_LIMIT = 1024  # interactive message body
__all__ = ["ProductLabel", "alert_message", "awaits_feed", "respond"]

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
        if alert.transfer is not None:
            lines.append(f"🔁 {alert.transfer.text} «Aprobar» pide el traspaso y el resto.")
        elif alert.level is AlertLevel.CRITICO:
            lines.append("⚠️ Pedir hoy: ninguna otra sucursal tiene excedente que llegue antes.")
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
    alert waiting for a quantity from this phone (None clears it); `drafts` replace the kept
    draft orders of their supplier × branch.
    """

    reply: OutboundMessage
    commands: tuple[BuyerCommand, ...] = ()
    approved_alert_ids: tuple[str, ...] = ()
    snoozes: tuple[SnoozeRequest, ...] = ()
    pending_adjust: str | None = None
    drafts: tuple[DraftOrder, ...] = ()
    """The draft orders as they stand after this message, to keep per supplier × branch."""


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
            snooze_hours: float = 24.0, orders: OrderBook | None = None) -> BuyerResponse:
    """Answer one buyer message.

    `buyer` is the buyer registered with `phone` (None: not a buyer); `open_alerts` are the
    pending alerts by alert id; `labels` the products by id; `orders` the suppliers' order
    terms, the kept draft orders and the branch names. A buyer may act on products of brands
    assigned to them or to nobody.
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
        return _approve_all(intent, buyer, open_alerts, labels, supplier_names, now, mine, reply,
                            orders or OrderBook())

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

    return _approve_one(intent, alert, label, buyer, open_alerts, labels, now, mine, reply,
                        orders or OrderBook(), supplier)


def _approve_one(intent: Approve | AdjustQuantity, alert: StockAlert, label: ProductLabel,
                 buyer: Buyer, open_alerts: Mapping[str, StockAlert],
                 labels: Mapping[int, ProductLabel], now: datetime,
                 mine: Callable[[StockAlert], bool], reply: Callable[[str], OutboundMessage],
                 book: OrderBook, supplier: str) -> BuyerResponse:
    """The alert's proposal (or the adjusted quantity) approved: transfer and order line, with
    the supplier's other open proposals of the branch as the top-up candidates."""
    qty, note = None, ""
    if isinstance(intent, AdjustQuantity):
        qty = round_order_qty(intent.qty, alert.pack_multiple, alert.min_order_qty)
        if qty != intent.qty:
            note = (f"(Nota: pediste {intent.qty}; redondeé a {qty} por múltiplo de "
                    f"{alert.pack_multiple} y mínimo de {alert.min_order_qty}.)\n")
    candidates = [proposal_line(a, labels[a.product_id].title) for a in by_urgency(
        open_alerts.values()) if a.alert_id != alert.alert_id and _proposes(a) and mine(a)
        and (a.supplier_id, a.warehouse_id) == (alert.supplier_id, alert.warehouse_id)]
    terms = book.terms_of(alert.supplier_id, supplier)
    done = approve(alert, title=label.title, terms=terms,
                   draft=book.drafts.get((alert.supplier_id, alert.warehouse_id)), now=now,
                   branch_names=book.branch_names, requested_by=f"comprador:{buyer.id}", qty=qty,
                   candidates=candidates)
    commands, approved, draft, text = done.commands, (alert.alert_id,), done.draft, done.text
    deferred = [a for a in by_urgency(open_alerts.values()) if a.route == "proposal_line"
                and a.alert_id != alert.alert_id and _proposes(a) and mine(a)
                and (a.supplier_id, a.warehouse_id) == (alert.supplier_id, alert.warehouse_id)]
    if draft is not None and deferred:
        for line in deferred:  # C-items triage kept off the phone join the supplier's order
            joined = approve(line, title=labels[line.product_id].title, terms=terms,
                             draft=draft, now=now, branch_names=book.branch_names,
                             requested_by=f"comprador:{buyer.id}")
            commands += joined.commands
            draft = joined.draft or draft
        approved += tuple(a.alert_id for a in deferred)
        skus = ", ".join(labels[a.product_id].sku for a in deferred)
        lines = plural(len(deferred), "artículo", "artículos")
        text += (f"\n➕ También se sumaron a {draft.key} {lines} de baja rotación que "
                 f"esperaban el siguiente pedido de {supplier}: {skus}.")
    return BuyerResponse(reply(note + text), commands=commands, approved_alert_ids=approved,
                         drafts=(draft,) if draft else ())


def _proposes(alert: StockAlert) -> bool:
    return (not alert.resolved and alert.proposed_qty > 0
            and alert.level in ORDERING_LEVELS)


def _approve_all(intent: ApproveAll, buyer: Buyer, open_alerts: Mapping[str, StockAlert],
                 labels: Mapping[int, ProductLabel], supplier_names: Mapping[int, str],
                 now: datetime, mine: Callable[[StockAlert], bool],
                 reply: Callable[[str], OutboundMessage], book: OrderBook) -> BuyerResponse:
    """Every pending proposal of the buyer (of one brand, or one supplier by name prefix), each
    into the day's draft order of its supplier and branch (transfers first)."""
    wanted = fold(intent.brand).strip() if intent.brand else None

    def wanted_alert(alert: StockAlert) -> bool:
        if not _proposes(alert) or not mine(alert):
            return False
        if wanted is None:
            return True
        supplier = fold(supplier_names.get(alert.supplier_id, ""))
        return fold(labels[alert.product_id].brand) == wanted or supplier.startswith(wanted)

    proposals = consolidate(a for a in open_alerts.values() if wanted_alert(a))
    if not proposals:
        of = f" de {intent.brand}" if intent.brand else ""
        return BuyerResponse(reply(f"No tengo propuestas de compra pendientes{of} para ti."))
    commands: list[BuyerCommand] = []
    drafts: list[DraftOrder] = []
    texts: list[str] = []
    for proposal in proposals:
        name = supplier_names.get(proposal.supplier_id, f"proveedor {proposal.supplier_id}")
        terms = book.terms_of(proposal.supplier_id, name)
        draft = book.drafts.get((proposal.supplier_id, proposal.warehouse_id))
        order_text = ""
        for alert in proposal.alerts:
            done = approve(alert, title=labels[alert.product_id].title, terms=terms,
                           draft=draft, now=now, branch_names=book.branch_names,
                           requested_by=f"comprador:{buyer.id}")
            commands += done.commands
            texts += [done.transfer_text] if done.transfer_text else []
            if done.draft is not None:
                draft, order_text = done.draft, done.order_text
        if draft is not None and order_text:
            drafts.append(draft)
            texts.append(order_text)
    approved = tuple(sorted(a for p in proposals for a in p.alert_ids))
    head = (f"✅ Listo ({intent.brand or 'todo'}): "
            f"{plural(len(approved), 'propuesta aprobada', 'propuestas aprobadas')}.")
    return BuyerResponse(reply("\n".join([head, *texts])), commands=tuple(commands),
                         approved_alert_ids=approved, drafts=tuple(drafts))
