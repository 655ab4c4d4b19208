"""Moving a delivery to another day: which orders can move, and the days offered for them.

The `reschedule_delivery` tool (`TurnSession`) offers these days, and on the customer's choice
emits a `RescheduleDelivery` command for `erp.commands`; the route planner re-plans both days
from the order's CDC change.
"""

from __future__ import annotations

from datetime import date, datetime

from processors.sales_agent import buttons, delivery
from processors.sales_agent.formatting import clock, long_date, relative_date
from processors.sales_agent.state import CustomerProfile
from processors.sales_agent.tool_results import DeliveryWindow, RescheduleResult
from schemas.commands import Button
from schemas.erp import Delivery, SalesOrder

OPEN_ORDER = ("reservado", "confirmado")
MOVING = ("en_ruta", "entregada")


def reschedulable(order: SalesOrder, shipment: Delivery | None) -> bool:
    """A delivery order still open and not on a truck that left (or delivered)."""
    return (order.needs_delivery and order.status in OPEN_ORDER
            and (shipment is None or shipment.status not in MOVING))


def current_day(order: SalesOrder, shipment: Delivery | None) -> date | None:
    return shipment.route_date if shipment is not None else order.delivery_date


def windows(now: datetime, current: date | None, customer: CustomerProfile
            ) -> list[DeliveryWindow]:
    """The customer's delivery window on each day the planner can still take the order."""
    return [DeliveryWindow(date=day, window_start=customer.delivery_window_start,
                           window_end=customer.delivery_window_end)
            for day in delivery.reschedule_days(now, current)]


def reply_text(result: RescheduleResult, today: date) -> str:
    """The customer's text for a `reschedule_delivery` result (days as buttons when choosing)."""
    window = f"entre {clock(result.window_start)} y {clock(result.window_end)}"
    if result.outcome == "rescheduled" and result.new_date is not None:
        return (f"Listo: cambié la entrega de tu pedido {result.order_id} al "
                f"{long_date(result.new_date)}, {window}. Te confirmamos aquí la hora estimada "
                f"en cuanto quede la nueva ruta.")
    if result.outcome == "unchanged" and result.new_date is not None:
        return (f"Tu pedido {result.order_id} ya está programado para "
                f"{relative_date(result.new_date, today)}, {window}.")
    if not result.windows:
        return (f"Por ahora no tengo otro día disponible para tu pedido {result.order_id}. Un "
                f"asesor puede ayudarte a moverlo.")
    days = ", ".join(long_date(w.date) for w in result.windows)
    return (f"Puedo mover la entrega de tu pedido {result.order_id} a uno de estos días, "
            f"{window}: {days}. ¿Cuál prefieres?")


def reply_buttons(result: RescheduleResult) -> list[Button]:
    if result.outcome != "choose":
        return []
    if not result.windows:
        return [buttons.human_button()]
    return [buttons.reschedule_button(result.order_id, w.date) for w in result.windows[:3]]
