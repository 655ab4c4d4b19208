"""Interactive reply buttons: the ids the agent sends and reads back (WhatsApp: at most 3)."""

from __future__ import annotations

from datetime import date

from schemas.commands import Button

HUMAN = "human"
MORE_OPTIONS = "more"
DECLINE = "decline"
ORDER_STATUS = "order"
RESCHEDULE = "reschedule"
ROUTE_CHANGE_TIME = "route:change_time"  # the routes flow's CAMBIAR HORA: route:change_time:<id>
_WEEKDAYS = ["lun", "mar", "mié", "jue", "vie", "sáb", "dom"]
_MONTHS = ["ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic"]


def option_button(number: int, label: str) -> Button:
    return Button(id=f"opt:{number}", title=f"{number}. {label}"[:20])


def confirm_button(quote_id: str) -> Button:
    return Button(id=f"confirm:{quote_id}", title="Sí, apártalas")


def human_button() -> Button:
    return Button(id=HUMAN, title="Hablar con asesor")


def more_options_button() -> Button:
    return Button(id=MORE_OPTIONS, title="Ver opciones")


def reschedule_button(order_id: int, day: date) -> Button:
    """`reschedule:1000123:2026-12-08`, titled e.g. "mar 8 dic"."""
    return Button(id=f"{RESCHEDULE}:{order_id}:{day.isoformat()}",
                  title=f"{_WEEKDAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]}")


def parse_button(button_id: str) -> tuple[str, str]:
    """`"opt:2"` -> `("opt", "2")`, `"human"` -> `("human", "")`."""
    kind, _, arg = button_id.partition(":")
    return kind, arg
