"""The weekly business report: an HTML e-mail (Spanish) with inline PNG charts.

`build_weekly_report(WeeklyData)` is pure: it takes data frames and returns the HTML; loading
them from the enriched topics is `ops.reports.weekly_data`, sending is `sinks.email`.

Frames (one row per current record, see schemas/analytics.py):
- `sales`: `analytics.sales_enriched` - local_date, order_id, revenue, margin, counts_as_sale,
  brand_name, branch_name;
- `inventory`: `analytics.inventory_daily` - day, warehouse_name, value_on_hand, available;
- `deliveries`: `analytics.deliveries` - delivered_at, route_date, status, on_time,
  delay_minutes;
- `forecast_accuracy` (optional): `forecasts.demand` - one row per product×warehouse forecast
  with its model and backtest MASE.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from html import escape

import pandas as pd

from ops.reports import charts
from processors.analytics.calendar import MX

WEEKDAYS = ("lun", "mar", "mié", "jue", "vie", "sáb", "dom")
STYLE_TD = "padding:4px 8px;border-bottom:1px solid #e3e7ec;font-size:13px"


@dataclass(frozen=True)
class WeeklyData:
    week_end: date
    sales: pd.DataFrame
    inventory: pd.DataFrame
    deliveries: pd.DataFrame
    forecast_accuracy: pd.DataFrame | None = None

    @property
    def days(self) -> list[date]:
        return [self.week_end - timedelta(days=d) for d in range(6, -1, -1)]


def money(value: float) -> str:
    return f"${value:,.0f}"


def percent(value: float | None) -> str:
    return "—" if value is None or pd.isna(value) else f"{value:.1%}"


def day_label(day: date) -> str:
    return f"{WEEKDAYS[day.weekday()]} {day.day}"


def build_weekly_report(data: WeeklyData) -> str:
    days = data.days
    sections = [_sales(data, days), _stock(data, days), _forecast(data.forecast_accuracy),
                _deliveries(data, days)]
    title = f"Reporte semanal TopLlantas · {days[0]:%d/%m} al {days[-1]:%d/%m/%Y}"
    return (
        "<!doctype html><html lang=\"es-MX\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(title)}</title></head>"
        "<body style=\"margin:0;background:#f4f5f7;font-family:Arial,Helvetica,sans-serif;"
        "color:#1d2733\"><table role=\"presentation\" width=\"100%\" cellpadding=\"0\" "
        "cellspacing=\"0\"><tr><td align=\"center\"><table role=\"presentation\" width=\"680\" "
        "style=\"max-width:680px;background:#fff;margin:16px auto;border-radius:8px\">"
        f"<tr><td style=\"padding:20px 24px;background:#1d2733;color:#fff;font-size:20px\">"
        f"{escape(title)}</td></tr>"
        + "".join(f"<tr><td style=\"padding:16px 24px\">{s}</td></tr>" for s in sections)
        + "<tr><td style=\"padding:12px 24px;color:#5b6b7c;font-size:12px\">Generado por "
        "TopLlantas Stream a partir de los tópicos analytics.* · cifras en MXN.</td></tr>"
        "</table></td></tr></table></body></html>")


def _kpis(items: list[tuple[str, str]]) -> str:
    cells = "".join(
        f"<td style=\"padding:8px;text-align:center\"><div style=\"font-size:22px;"
        f"font-weight:bold\">{escape(v)}</div><div style=\"font-size:12px;color:#5b6b7c\">"
        f"{escape(k)}</div></td>" for k, v in items)
    return f"<table role=\"presentation\" width=\"100%\"><tr>{cells}</tr></table>"


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th style=\"{STYLE_TD};text-align:left;color:#5b6b7c\">{escape(h)}</th>"
                   for h in header)
    body = "".join("<tr>" + "".join(f"<td style=\"{STYLE_TD}\">{escape(c)}</td>" for c in r)
                   + "</tr>" for r in rows)
    return f"<table width=\"100%\" cellspacing=\"0\"><tr>{head}</tr>{body}</table>"


def _img(uri: str, alt: str) -> str:
    return f"<img src=\"{uri}\" alt=\"{escape(alt)}\" width=\"632\" style=\"max-width:100%\">"


def _section(title: str, body: str) -> str:
    return f"<h2 style=\"font-size:17px;margin:0 0 8px\">{escape(title)}</h2>{body}"


def _sales(data: WeeklyData, days: list[date]) -> str:
    sales = data.sales
    if sales.empty:
        return _section("Ventas", "<p>Sin ventas registradas en la semana.</p>")
    sold = sales[sales["counts_as_sale"]]
    week = sold[sold["local_date"].isin(days)]
    before = sold[sold["local_date"].isin([d - timedelta(days=7) for d in days])]
    revenue, margin = float(week["revenue"].sum()), float(week["margin"].sum())
    previous = float(before["revenue"].sum())
    per_day = week.groupby("local_date")["revenue"].sum()
    prev_day = before.groupby("local_date")["revenue"].sum()
    chart = charts.bars([day_label(d) for d in days], [float(per_day.get(d, 0)) for d in days],
                        title="Ventas por día (MXN)",
                        compare=[float(prev_day.get(d - timedelta(days=7), 0)) for d in days],
                        compare_label="semana anterior")
    brands = week.groupby("brand_name")[["revenue", "margin"]].sum().sort_values(
        "revenue", ascending=False).head(5)
    branches = week.groupby("branch_name")["revenue"].sum().sort_values(ascending=False)
    kpis = _kpis([("Venta", money(revenue)), ("Margen", money(margin)),
                  ("Margen %", percent(margin / revenue if revenue else None)),
                  ("Pedidos", f"{week['order_id'].nunique():,}"),
                  ("vs. semana anterior", percent(revenue / previous - 1 if previous else None))])
    return _section("Ventas", kpis + _img(chart, "Ventas por día") + _table(
        ["Marca", "Venta", "Margen %"],
        [[b, money(r.revenue), percent(r.margin / r.revenue if r.revenue else None)]
         for b, r in brands.iterrows()]) + "<br>" + _table(
        ["Sucursal", "Venta"], [[b, money(v)] for b, v in branches.items()]))


def _stock(data: WeeklyData, days: list[date]) -> str:
    inventory = data.inventory
    week = inventory[inventory["day"].isin(days)] if not inventory.empty else inventory
    if week.empty:
        return _section("Salud del inventario", "<p>Sin cortes de inventario en la semana.</p>")
    last_day = week["day"].max()
    last = week[week["day"] == last_day]
    value = float(last["value_on_hand"].fillna(0).sum())
    out = int((last["available"] <= 0).sum())
    trend = week.groupby("day")["value_on_hand"].sum()
    by_branch = last.groupby("warehouse_name")["value_on_hand"].sum().sort_values(
        ascending=False)
    kpis = _kpis([("Valor en inventario", money(value)),
                  ("Producto×sucursal", f"{len(last):,}"),
                  ("Agotados", f"{out:,}"),
                  ("Agotados %", percent(out / len(last) if len(last) else None))])
    trend_chart = charts.line([day_label(d) for d in trend.index], list(trend.values),
                              title="Valor del inventario al cierre (MXN)")
    branch_chart = charts.hbars(list(by_branch.index), list(by_branch.values),
                                title=f"Valor por sucursal al {last_day:%d/%m}")
    return _section("Salud del inventario", kpis + _img(trend_chart, "Valor del inventario")
                    + _img(branch_chart, "Valor por sucursal"))


def _forecast(accuracy: pd.DataFrame | None) -> str:
    if accuracy is None or accuracy.empty:
        return _section("Precisión del pronóstico",
                        "<p>Sin resultados de pronóstico disponibles esta semana.</p>")
    by_model = accuracy.groupby("model")["mase"].agg(["mean", "count"]).sort_values("mean")
    chart = charts.hbars(list(by_model.index), list(by_model["mean"]), decimals=2,
                         title="MASE promedio por modelo (menor es mejor; < 1 supera al "
                               "ingenuo estacional)")
    overall = float(accuracy["mase"].mean())
    return _section("Precisión del pronóstico", _kpis(
        [("MASE promedio", f"{overall:.2f}"), ("Series evaluadas", f"{len(accuracy):,}")])
        + _img(chart, "MASE por modelo") + _table(
        ["Modelo", "MASE", "Series"],
        [[m, f"{r['mean']:.2f}", f"{int(r['count']):,}"] for m, r in by_model.iterrows()]))


def _deliveries(data: WeeklyData, days: list[date]) -> str:
    stops = data.deliveries
    if stops.empty:
        return _section("Entregas", "<p>Sin entregas registradas en la semana.</p>")
    delivered = stops[(stops["status"] == "entregada") & stops["delivered_at"].notna()].copy()
    delivered["day"] = pd.to_datetime(delivered["delivered_at"], utc=True).dt.tz_convert(
        MX).dt.date
    week = delivered[delivered["day"].isin(days)]
    failed = stops[(stops["status"] == "fallida") & stops["route_date"].isin(days)]
    judged = week[week["on_time"].notna()]
    on_time = float(judged["on_time"].astype(bool).mean()) if len(judged) else None
    per_day = judged.groupby("day")["on_time"].apply(lambda s: float(s.astype(bool).mean()))
    chart = charts.bars([day_label(d) for d in days],
                        [float(per_day.get(d, float("nan"))) * 100 for d in days],
                        title="Entregas a tiempo por día (%)", ylabel="%", color=charts.OK,
                        ylim=(0, 100))
    delay = judged["delay_minutes"].clip(lower=0).mean() if len(judged) else None
    return _section("Entregas", _kpis(
        [("Entregadas", f"{len(week):,}"), ("A tiempo", percent(on_time)),
         ("Retraso medio (min)", "—" if delay is None or pd.isna(delay) else f"{delay:.0f}"),
         ("Fallidas", f"{len(failed):,}")]) + _img(chart, "Entregas a tiempo"))
