"""The weekly report builder: sections, numbers and inline charts from plain data frames."""

from __future__ import annotations

import base64
import re
from datetime import date, timedelta

import pandas as pd

from ops.reports.weekly import WeeklyData, build_weekly_report

WEEK_END = date(2026, 11, 22)  # a Sunday


def frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    days = [WEEK_END - timedelta(days=d) for d in range(13, -1, -1)]
    sales = pd.DataFrame([
        {"local_date": d, "order_id": i, "revenue": 1000.0 * (1 + (d > WEEK_END - timedelta(7))),
         "margin": 250.0, "counts_as_sale": True, "brand_name": ["Michelin", "Hankook"][i % 2],
         "branch_name": "Sucursal Monterrey Centro"} for i, d in enumerate(days)]
        + [{"local_date": WEEK_END, "order_id": 99, "revenue": 5e6, "margin": 0.0,
            "counts_as_sale": False, "brand_name": "Michelin", "branch_name": "X"}])
    inventory = pd.DataFrame([
        {"day": d, "warehouse_name": w, "value_on_hand": 1e5, "available": a}
        for d in days[-7:] for w, a in (("Sucursal Monterrey Centro", 4), ("CDMX", 0))])
    deliveries = pd.DataFrame([
        {"delivered_at": pd.Timestamp(f"{WEEK_END - timedelta(1)}T17:00:00Z"),
         "route_date": WEEK_END - timedelta(1), "status": "entregada", "on_time": ok,
         "delay_minutes": -5.0 if ok else 25.0} for ok in (True, True, True, False)]
        + [{"delivered_at": None, "route_date": WEEK_END, "status": "fallida", "on_time": None,
            "delay_minutes": None}])
    return sales, inventory, deliveries


def test_weekly_report_has_every_section_with_charts() -> None:
    sales, inventory, deliveries = frames()
    accuracy = pd.DataFrame({"model": ["TSB", "TSB", "AutoETS"], "mase": [0.8, 0.9, 1.1]})
    html = build_weekly_report(WeeklyData(WEEK_END, sales, inventory, deliveries, accuracy))
    assert "Reporte semanal TopLlantas · 16/11 al 22/11/2026" in html
    for title in ("Ventas", "Salud del inventario", "Precisión del pronóstico", "Entregas"):
        assert f">{title}</h2>" in html
    assert "$14,000" in html  # 7 days × 2,000; the cancelled order does not count
    assert "+100.0%" not in html and "100.0%" in html  # vs. the previous week's 7,000
    assert "A tiempo" in html and "75.0%" in html and ">1<" in html  # one failed stop
    assert ">0.85<" in html and ">0.93<" in html  # TSB's mean MASE, the overall mean
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(images) == 5
    assert all(base64.b64decode(i)[:8] == b"\x89PNG\r\n\x1a\n" for i in images)


def test_missing_data_is_said_not_drawn() -> None:
    empty = pd.DataFrame()
    html = build_weekly_report(WeeklyData(WEEK_END, empty, empty, empty, None))
    assert "Sin ventas registradas" in html and "Sin cortes de inventario" in html
    assert "Sin resultados de pronóstico" in html and "Sin entregas registradas" in html
    assert "data:image/png" not in html
