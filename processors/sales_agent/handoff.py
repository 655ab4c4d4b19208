"""What the sales team receives when a conversation is handed to a person (pure)."""

from __future__ import annotations

from datetime import datetime
from html import escape

from processors.sales_agent.state import ConversationState
from schemas.commands import OutboundMessage


def handoff_email(state: ConversationState, reason: str | None, to: str, message_id: str,
                  now: datetime) -> OutboundMessage:
    """An e-mail with the whole context: who, why, the quote and the recent turns."""
    who = state.customer.name if state.customer else "cliente sin registro"
    lines = [f"Cliente: {who} (WhatsApp +{state.phone})", f"Motivo: {reason or 'solicitud'}"]
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
