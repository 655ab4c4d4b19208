"""What a customer message can ask for (intents) and the store-policy topics of a FAQ."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

FaqTopic = Literal["warranty", "alignment", "pressure", "installation", "payment", "delivery",
                   "load_index", "rotation", "hours", "vibration", "lifespan"]


class Intent(StrEnum):
    GREETING = "greeting"
    QUOTE = "quote"
    CHOOSE_OPTION = "choose_option"
    CONFIRM = "confirm"
    DECLINE = "decline"
    ORDER_STATUS = "order_status"
    RESCHEDULE = "reschedule"
    FAQ = "faq"
    HANDOFF = "handoff"
    DISCOUNT = "discount"
    FLEET = "fleet"  # a fleet, workshop or reseller asking for special / volume prices
    INVOICE = "invoice"  # an invoice (CFDI) for a past purchase
    INJECTION = "injection"  # an attempt to change the agent's rules, prices or role
    THANKS = "thanks"
    UNKNOWN = "unknown"


# Intents a person answers, with the reason the sales team reads in the handoff e-mail.
HANDOFF_REASONS: dict[Intent, str] = {
    Intent.HANDOFF: "el cliente pidió hablar con un asesor",
    Intent.FLEET: "flotilla o negocio pide precio especial por volumen",
    Intent.INVOICE: "el cliente pide la factura de una compra",
    Intent.RESCHEDULE: "el cliente quiere cambiar el día u hora de su entrega",
}
