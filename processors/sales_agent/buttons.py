"""Interactive reply buttons: the ids the agent sends and reads back (WhatsApp: at most 3)."""

from __future__ import annotations

from schemas.commands import Button

HUMAN = "human"
MORE_OPTIONS = "more"
DECLINE = "decline"
ORDER_STATUS = "order"


def option_button(number: int, label: str) -> Button:
    return Button(id=f"opt:{number}", title=f"{number}. {label}"[:20])


def confirm_button(quote_id: str) -> Button:
    return Button(id=f"confirm:{quote_id}", title="Sí, apártalas")


def human_button() -> Button:
    return Button(id=HUMAN, title="Hablar con asesor")


def more_options_button() -> Button:
    return Button(id=MORE_OPTIONS, title="Ver opciones")


def parse_button(button_id: str) -> tuple[str, str]:
    """`"opt:2"` -> `("opt", "2")`, `"human"` -> `("human", "")`."""
    kind, _, arg = button_id.partition(":")
    return kind, arg
