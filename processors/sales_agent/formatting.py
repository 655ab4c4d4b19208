"""es-MX formatting of money, dates and times for customer text."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal

MONTHS = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
          "septiembre", "octubre", "noviembre", "diciembre"]
WEEKDAYS = ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"]


def money(value: Decimal) -> str:
    """`Decimal("11556.00")` -> `"$11,556"`, `Decimal("2657.88")` -> `"$2,657.88"`."""
    cents = value.quantize(Decimal("0.01"))
    return f"${cents:,.0f}" if cents == cents.to_integral_value() else f"${cents:,.2f}"


def long_date(day: date) -> str:
    """`"viernes 27 de noviembre"`."""
    return f"{WEEKDAYS[day.weekday()]} {day.day} de {MONTHS[day.month - 1]}"


def relative_date(day: date, today: date) -> str:
    """`"hoy viernes 27 de noviembre"`, `"mañana sábado 28 de noviembre"` or the long date."""
    prefix = {0: "hoy ", 1: "mañana "}.get((day - today).days, "el ")
    return prefix + long_date(day)


def clock(moment: time) -> str:
    return f"{moment.hour}:{moment.minute:02d}"


def tires(qty: int) -> str:
    return "1 llanta" if qty == 1 else f"{qty} llantas"
