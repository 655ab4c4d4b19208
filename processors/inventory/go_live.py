"""Go-live (and re-snapshot) summary: one message per buyer instead of one per alert (pure).

The first evaluation over an ERP opens many alerts at once. Each buyer gets one WhatsApp message
— counts per level, the money at stake, buttons for the top suppliers by what their proposals
would spend — and one e-mail whose attachment (CSV, UTF-8 with BOM so Excel reads the accents)
lists every alert with its numbers.

Money at stake: `por pedir` is the sum of the proposals of the ordering levels; `de más` is the
stock above need: for `sobrestock` the units above the order-up-to level, for `sin movimiento`
everything available, both at the list cost.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from processors.inventory.alerts import LEVEL_LABELS, ORDERING_LEVELS, SEVERITY, fmt_money
from processors.inventory.triage import Route
from schemas.alerts import AlertLevel, StockAlert

ZERO = Decimal("0.00")
LEVEL_ORDER = sorted(AlertLevel, key=lambda level: -SEVERITY[level])
BUTTON_TITLE = 20
ATTACHMENT_COLUMNS = ("nivel", "envio", "sucursal", "sku_producto", "proveedor", "disponible",
                      "en_camino", "punto_reorden", "maximo", "venta_diaria", "dias_cobertura",
                      "propuesta_pzas", "costo_unitario", "total_propuesta", "motivo")
ROUTE_LABELS = {Route.CRITICAL: "mensaje", Route.DIGEST: "resumen",
                Route.PROPOSAL_LINE: "propuesta del proveedor"}


@dataclass(frozen=True, slots=True)
class GoLiveSummary:
    text: str
    buttons: tuple[tuple[str, str], ...]
    """(id, title) of the top suppliers: `golive_supplier:<supplier_id>`."""
    counts: Mapping[AlertLevel, int]
    to_order: Decimal
    excess: Decimal


def excess_value(alert: StockAlert) -> Decimal:
    if alert.level == AlertLevel.SOBRESTOCK:
        units = max(0, alert.position - alert.order_up_to)
    elif alert.level == AlertLevel.SIN_MOVIMIENTO:
        units = max(0, alert.available)
    else:
        return ZERO
    return (alert.base_unit_cost * units).quantize(ZERO)


def to_order_value(alert: StockAlert) -> Decimal:
    return alert.total_cost if alert.level in ORDERING_LEVELS and alert.proposed_qty else ZERO


def go_live_summary(alerts: Sequence[StockAlert], routes: Mapping[str, Route],
                    supplier_names: Mapping[int, str], *, top: int = 3) -> GoLiveSummary:
    """One buyer's summary of the open (unresolved) alerts; `routes` by alert id (triage)."""
    open_alerts = [a for a in alerts if not a.resolved]
    counts = Counter(a.level for a in open_alerts)
    per_supplier: dict[int, Decimal] = {}
    for a in open_alerts:
        per_supplier[a.supplier_id] = per_supplier.get(a.supplier_id, ZERO) + to_order_value(a)
    ranked = sorted((s for s, v in per_supplier.items() if v > 0),
                    key=lambda s: (-per_supplier[s], s))[:top]
    to_order = sum(per_supplier.values(), ZERO)
    excess = sum((excess_value(a) for a in open_alerts), ZERO)
    critical = [a for a in open_alerts if a.level == AlertLevel.CRITICO]
    as_lines = sum(1 for a in critical if routes.get(a.alert_id) == Route.PROPOSAL_LINE)
    lines = [f"📋 Ya vigilo el inventario de tus marcas: {len(open_alerts):,} producto"
             f"{'s' if len(open_alerts) != 1 else ''} por sucursal piden atención."]
    for level in LEVEL_ORDER:
        if counts[level]:
            label = LEVEL_LABELS[level].capitalize()
            extra = (f" ({as_lines} de poca venta van como línea en la propuesta del proveedor)"
                     if level == AlertLevel.CRITICO and as_lines else "")
            lines.append(f"• {label}: {counts[level]:,}{extra}")
    lines.append(f"Por pedir: {fmt_money(to_order)} · Inventario de más: {fmt_money(excess)}")
    if ranked:
        lines.append("Top proveedores por pedir: " + ", ".join(
            f"{supplier_names.get(s, f'proveedor {s}')} {fmt_money(per_supplier[s])}"
            for s in ranked) + ".")
    lines.append("Te mandé la lista completa por correo. Toca un proveedor para ver sus "
                 "productos; desde mañana te escribo solo lo urgente y un resumen a las 7:00.")
    buttons = tuple((f"golive_supplier:{s}", _cut(supplier_names.get(s, f"Proveedor {s}")))
                    for s in ranked)
    return GoLiveSummary(text="\n".join(lines), buttons=buttons, counts=dict(counts),
                         to_order=to_order, excess=excess)


def attachment_rows(alerts: Sequence[StockAlert], routes: Mapping[str, Route],
                    product_titles: Mapping[int, str], supplier_names: Mapping[int, str],
                    branch_names: Mapping[int, str]) -> list[dict[str, str]]:
    """Every open alert, most urgent first, then by money to order (one dict per CSV row)."""
    rows = []
    ranked = sorted((a for a in alerts if not a.resolved),
                    key=lambda a: (-SEVERITY[a.level], -to_order_value(a), a.alert_id))
    for a in ranked:
        rows.append({
            "nivel": LEVEL_LABELS[a.level],
            "envio": ROUTE_LABELS.get(routes.get(a.alert_id, Route.DIGEST), "resumen"),
            "sucursal": branch_names.get(a.warehouse_id, str(a.warehouse_id)),
            "sku_producto": product_titles.get(a.product_id, str(a.product_id)),
            "proveedor": supplier_names.get(a.supplier_id, str(a.supplier_id)),
            "disponible": str(a.available), "en_camino": str(a.on_order + a.in_transit),
            "punto_reorden": str(a.reorder_point), "maximo": str(a.order_up_to),
            "venta_diaria": f"{a.daily_demand:.2f}",
            "dias_cobertura": "" if a.days_of_cover is None else f"{a.days_of_cover:.1f}",
            "propuesta_pzas": str(a.proposed_qty), "costo_unitario": f"{a.unit_cost:.2f}",
            "total_propuesta": f"{to_order_value(a):.2f}", "motivo": a.reason,
        })
    return rows


def attachment_csv(rows: Sequence[Mapping[str, str]]) -> bytes:
    """The rows as CSV in UTF-8 with a BOM (Excel opens it with the accents right)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=ATTACHMENT_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def _cut(text: str) -> str:
    return text if len(text) <= BUTTON_TITLE else text[:BUTTON_TITLE - 1] + "…"
