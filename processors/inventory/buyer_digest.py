"""The buyer's morning summary (pure): a WhatsApp text and an e-mail with an HTML table."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from processors.inventory.alerts import LEVEL_LABELS, ORDERING_LEVELS, SEVERITY, fmt_money, fmt_num
from processors.inventory.buyer_intents import APPROVE_ALL_BUTTON
from processors.inventory.buyer_labels import LEVEL_ICONS, ProductLabel, plural
from processors.inventory.buyer_orders import consolidate
from schemas.alerts import AlertLevel, StockAlert
from schemas.commands import Button, OutboundMessage
from schemas.erp import Buyer
from schemas.timezones import MEXICO_CITY

DIGEST_TEMPLATE = "resumen_inventario"

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
            lines.append(f"• {name}: {plural(len(proposal.alerts), 'producto', 'productos')}, "
                         f"{fmt_money(proposal.total_cost)}")
        lines.append("")
        lines.append("Responde «Aprobar todo» o «Aprobar todo <marca>» para crear los "
                     "borradores de OC.")
    others = [a for a in mine if a.level not in ORDERING_LEVELS]
    if others:
        lines.append(f"Además: {plural(len(others), 'producto', 'productos')} con sobrestock "
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
               f"{plural(counts[AlertLevel.CRITICO], 'crítico', 'críticos')}, "
               f"{plural(counts[AlertLevel.ALTO], 'alto', 'altos')}, "
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
