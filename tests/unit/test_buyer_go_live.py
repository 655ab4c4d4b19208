"""Go-live: one summary message per buyer and a CSV with every alert, not one message each."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

from processors.inventory.go_live import (
    ATTACHMENT_COLUMNS,
    attachment_csv,
    attachment_rows,
    go_live_summary,
)
from processors.inventory.triage import Route
from schemas.alerts import AlertLevel, StockAlert

AT = datetime(2026, 12, 5, 14, 0, tzinfo=UTC)
SUPPLIERS = {1: "Michelin México", 4: "Pirelli Neumáticos", 6: "Importadora Asia Llantas",
             7: "Llantas Tornel"}


def alert(n: int, level: AlertLevel, supplier: int = 1, qty: int = 8, cost: str = "1500.00",
          available: int = 0, position: int = 0, up_to: int = 20,
          resolved: bool = False) -> StockAlert:
    unit = Decimal(cost)
    return StockAlert(
        event_id=f"e{n}", alert_id=f"a{n}", product_id=100 + n, warehouse_id=1 + n % 3,
        level=level, resolved=resolved, reason=f"Motivo {n}, «con acentos»",
        recommendation="Pedir", available=available, on_order=0, in_transit=0,
        position=position, reorder_point=10, safety_stock=3, order_up_to=up_to,
        daily_demand=1.5, days_of_cover=None if available == 0 else available / 1.5,
        proposed_qty=qty, supplier_id=supplier, lead_time_days=10, unit_cost=unit,
        total_cost=unit * qty, base_unit_cost=unit, at=AT)


ALERTS = [
    alert(1, AlertLevel.CRITICO, 1, 8),  # 12,000
    alert(2, AlertLevel.CRITICO, 4, 4, "2500.00"),  # 10,000
    alert(3, AlertLevel.CRITICO, 7, 2, "900.00"),  # a slow C-item: proposal line
    alert(4, AlertLevel.ALTO, 6, 40, "1000.00"),  # 40,000
    alert(5, AlertLevel.SOBRESTOCK, 1, 0, available=50, position=50, up_to=20),  # 30 × 1,500
    alert(6, AlertLevel.SIN_MOVIMIENTO, 4, 0, "2000.00", available=3, position=3),  # 6,000
    alert(7, AlertLevel.CRITICO, 1, 8, resolved=True),  # no longer open
]
ROUTES = {"a1": Route.CRITICAL, "a2": Route.CRITICAL, "a3": Route.PROPOSAL_LINE}


def test_one_summary_with_counts_money_and_top_suppliers() -> None:
    summary = go_live_summary(ALERTS, ROUTES, SUPPLIERS)
    assert summary.counts == {AlertLevel.CRITICO: 3, AlertLevel.ALTO: 1,
                              AlertLevel.SOBRESTOCK: 1, AlertLevel.SIN_MOVIMIENTO: 1}
    assert summary.to_order == Decimal("63800.00")
    assert summary.excess == Decimal("51000.00")
    assert summary.buttons == (("golive_supplier:6", "Importadora Asia Ll…"),
                               ("golive_supplier:1", "Michelin México"),
                               ("golive_supplier:4", "Pirelli Neumáticos"))
    text = summary.text
    assert "6 productos por sucursal piden atención" in text
    assert "• Crítico: 3 (1 de poca venta van como línea en la propuesta del proveedor)" in text
    assert text.index("Crítico") < text.index("Alto") < text.index("Sin movimiento")
    assert "Por pedir: $63,800.00 · Inventario de más: $51,000.00" in text
    assert len(text) <= 1024  # an interactive message body


def test_the_attachment_lists_every_open_alert_most_urgent_first() -> None:
    titles = {101: "MIC-2055516 Primacy 4 205/55R16"}
    rows = attachment_rows(ALERTS, ROUTES, titles, SUPPLIERS, {1: "Monterrey", 2: "Guadalajara",
                                                              3: "CDMX"})
    assert [r["nivel"] for r in rows] == ["crítico", "crítico", "crítico", "alto",
                                         "sin movimiento", "sobrestock"]
    assert [r["sku_producto"] for r in rows[:3]] == ["MIC-2055516 Primacy 4 205/55R16", "102",
                                                    "103"]
    assert rows[2]["envio"] == "propuesta del proveedor" and rows[3]["envio"] == "resumen"
    raw = attachment_csv(rows)
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    parsed = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert tuple(parsed[0]) == ATTACHMENT_COLUMNS
    assert parsed == rows
    assert parsed[0]["motivo"] == "Motivo 1, «con acentos»"


def test_a_buyer_without_alerts_gets_a_short_summary() -> None:
    summary = go_live_summary([], {}, SUPPLIERS)
    assert summary.buttons == () and summary.to_order == 0
    assert "0 productos" in summary.text
