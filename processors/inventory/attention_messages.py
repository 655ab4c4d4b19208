"""What the attention budget's sends look like to the buyer (pure): the gathered list, the
opener template, the e-mail past the daily cap, the go-live summary and its CSV e-mail.

A single critical is `buyer_messages.alert_message` (key `alert:<event_id>:<phone>`, so a
replay of the same alert event is one message); every other send is keyed by the attention
state's sequence (`Send.key`).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from datetime import datetime

from processors.inventory.alerts import fmt_money
from processors.inventory.attention import ListEntry, ListPage, gathered_list
from processors.inventory.buyer_digest import digest_html
from processors.inventory.buyer_labels import ProductLabel
from processors.inventory.go_live import attachment_csv, attachment_rows, go_live_summary
from processors.inventory.triage import Route
from schemas.alerts import AlertLevel, StockAlert
from schemas.commands import Button, OutboundMessage
from schemas.erp import Buyer
from schemas.message_parts import Attachment, InteractiveList, ListRow, ListSection
from schemas.timezones import MEXICO_CITY

OPENER_TEMPLATE = "inventario_pendiente"
LIST_TEMPLATE = "alertas_inventario"
GOLIVE_TEMPLATE = "inicio_inventario"


def list_entries(alerts: Sequence[StockAlert], labels: Mapping[int, ProductLabel],
                 supplier_names: Mapping[int, str],
                 branch_names: Mapping[int, str]) -> list[ListEntry]:
    """The alerts as rows of a gathered list (products without a label are left out)."""
    entries = []
    for alert in alerts:
        label = labels.get(alert.product_id)
        if label is None:
            continue
        branch = branch_names.get(alert.warehouse_id, f"suc. {alert.warehouse_id}")
        entries.append(ListEntry(
            alert.alert_id, alert.supplier_id,
            supplier_names.get(alert.supplier_id, f"proveedor {alert.supplier_id}"),
            f"{label.sku} {label.tire_size}",
            f"{branch}: {alert.available} disp. → {alert.proposed_qty} pzas "
            f"{fmt_money(alert.total_cost)}", alert.total_cost))
    return entries


def list_message(entries: Sequence[ListEntry], *, to: str, key: str, list_key: str,
                 page: int, now: datetime) -> OutboundMessage:
    """Page `page` of a gathered list as one WhatsApp list message."""
    listing = gathered_list(entries, list_key=list_key, page=page)
    return OutboundMessage(
        idempotency_key=key, channel="whatsapp", to=to, text=listing.body,
        interactive_list=_interactive(listing), template=LIST_TEMPLATE,
        template_params=[str(len(entries))],
        context={"kind": "stock_alert_list", "list_key": list_key, "page": str(page),
                 "alert_ids": ",".join(e.alert_id for e in entries)[:4000]},
        issued_at=now)


def _interactive(page: ListPage) -> InteractiveList:
    return InteractiveList(button=page.button, sections=[
        ListSection(title=title, rows=[ListRow(id=r.id, title=r.title,
                                               description=r.description or None)
                                       for r in rows])
        for title, rows in page.sections])


def opener_message(*, to: str, key: str, waiting: int, now: datetime) -> OutboundMessage:
    """The approved template that opens a closed 24-hour window (no free text: the sink sends
    the template)."""
    return OutboundMessage(
        idempotency_key=key, channel="whatsapp", to=to, template=OPENER_TEMPLATE,
        template_params=[str(waiting)],
        context={"kind": "stock_opener", "waiting": str(waiting)}, issued_at=now)


def cap_email(alerts: Sequence[StockAlert], *, buyer: Buyer,
              labels: Mapping[int, ProductLabel], supplier_names: Mapping[int, str],
              key: str, now: datetime) -> OutboundMessage:
    """Criticals past the day's WhatsApp cap, by e-mail at once (the digest repeats them)."""
    shown = [a for a in alerts if a.product_id in labels]
    n = len(shown)
    title = f"{n} producto{'s' if n != 1 else ''} en crítico"
    text = "\n".join([f"{title} (ya recibiste hoy el máximo de mensajes de WhatsApp):",
                      *(f"• {labels[a.product_id].sku}: {a.available} disp. → "
                        f"{a.proposed_qty} pzas, {fmt_money(a.total_cost)}" for a in shown),
                      "Van también en el resumen de mañana a las 7:00."])
    return OutboundMessage(
        idempotency_key=key, channel="email", to=buyer.email, subject=f"Inventario: {title}",
        text=text, html=digest_html(shown, labels, supplier_names, title=title,
                                    greeting=f"Hola, {buyer.name}."),
        context={"kind": "stock_alert_email", "buyer_id": str(buyer.id),
                 "alert_ids": ",".join(a.alert_id for a in shown)[:4000]}, issued_at=now)


def golive_messages(alerts: Sequence[StockAlert], *, buyer: Buyer,
                    labels: Mapping[int, ProductLabel], supplier_names: Mapping[int, str],
                    branch_names: Mapping[int, str], key: str, now: datetime
                    ) -> tuple[OutboundMessage, OutboundMessage]:
    """The go-live summary: (WhatsApp with buttons for the top suppliers, e-mail with every
    open alert as a CSV attachment)."""
    routes = {a.alert_id: Route(a.route) for a in alerts if a.route}
    summary = go_live_summary(alerts, routes, supplier_names)
    titles = {p: label.title for p, label in labels.items()}
    rows = attachment_rows(alerts, routes, titles, supplier_names, branch_names)
    day = f"{now.astimezone(MEXICO_CITY):%Y-%m-%d}"
    counts = summary.counts
    whatsapp = OutboundMessage(
        idempotency_key=key, channel="whatsapp", to=buyer.phone, text=summary.text[:1024],
        buttons=[Button(id=b_id, title=title) for b_id, title in summary.buttons],
        template=GOLIVE_TEMPLATE,
        template_params=[str(sum(counts.values())), str(counts.get(AlertLevel.CRITICO, 0)),
                         fmt_money(summary.to_order)],
        context={"kind": "stock_golive", "buyer_id": str(buyer.id)}, issued_at=now)
    csv = base64.b64encode(attachment_csv(rows)).decode()
    email = OutboundMessage(
        idempotency_key=f"{key}:email", channel="email", to=buyer.email,
        subject=f"Inventario al arrancar: {len(rows):,} productos por sucursal piden atención",
        text=summary.text, attachments=[Attachment(
            filename=f"alertas-inventario-{day}.csv", mime_type="text/csv", content_b64=csv)],
        context={"kind": "stock_golive", "buyer_id": str(buyer.id)}, issued_at=now)
    return whatsapp, email
