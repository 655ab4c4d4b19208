"""What the sales team receives when a conversation is handed to a person (pure)."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import TYPE_CHECKING

from processors.sales_agent.intents.taxonomy import HANDOFF_REASONS, Intent
from processors.sales_agent.state import ConversationState
from schemas.commands import OutboundMessage

if TYPE_CHECKING:
    from processors.sales_agent.understanding import Slots

REASON_MAX = 300


def handoff_reason(intent: Intent, slots: Slots, state: ConversationState) -> str:
    """Why a person takes over, with what the message and the conversation already told us
    (order number, size, vehicle, quantity), so the adviser does not ask again."""
    parts = [HANDOFF_REASONS.get(intent, "el cliente necesita a una persona")]
    if slots.order_id:
        parts.append(f"pedido {slots.order_id}")
    size = slots.size or state.search.size
    vehicle = slots.vehicle or state.search.vehicle
    if size:
        parts.append(f"medida {size}")
    if vehicle:
        parts.append(f"vehículo {vehicle}")
    if slots.qty:
        parts.append(f"{slots.qty} llantas")
    if state.customer:
        parts.append(f"cliente {state.customer.tier}")
    return "; ".join(parts)[:REASON_MAX]


def handoff_email(state: ConversationState, reason: str | None, to: str, message_id: str,
                  now: datetime) -> OutboundMessage:
    """An e-mail with the whole context: who, why, the quote and the recent turns."""
    who = state.customer.name if state.customer else "cliente sin registro"
    lines = [f"Cliente: {who} (WhatsApp +{state.phone})", f"Motivo: {reason or 'solicitud'}"]
    if state.search.size or state.search.vehicle:
        looked = state.search.size or state.search.vehicle
        lines.append(f"Buscaba: {looked}, {state.search.qty} llantas"
                     + (f", marca {state.search.brand}" if state.search.brand else ""))
    if state.quote:
        q = state.quote
        lines.append(f"Cotización {q.quote_id}: {q.qty} × {q.brand} {q.model} {q.tire_size} "
                     f"a ${q.unit_price:,.2f} c/u, total ${q.total:,.2f} ({q.branch})")
    lines.append("")
    lines += [f"[{t.at:%H:%M}] {'Cliente' if t.role == 'customer' else 'Bot'}: {t.text}"
              for t in state.turns]
    lines.append("")
    lines.append("El bot no responderá hasta que liberes la conversación "
                 f"(POST /agent/release/{state.phone}/ en el worker).")
    text = "\n".join(lines)
    html = "<pre style='font-family:system-ui'>" + escape(text) + "</pre>"
    return OutboundMessage(
        idempotency_key=f"handoff:{message_id}", channel="email", to=to,
        subject=f"WhatsApp: {who} necesita atención", text=text, html=html, issued_at=now,
        context={"phone": state.phone})
