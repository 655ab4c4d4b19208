"""What a buyer's WhatsApp message asks for (pure): a button tap, a quantity after `Ajustar`
("24", "pide 24"), or a consolidation command ("Aprobar todo Michelin"), as a typed intent.

Button ids carry the alert id (`approve:<alert_id>`, `snooze:...`, `adjust:...`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from schemas.whatsapp import InboundMessage


@dataclass(frozen=True, slots=True)
class Approve:
    alert_id: str


@dataclass(frozen=True, slots=True)
class Snooze:
    alert_id: str


@dataclass(frozen=True, slots=True)
class AdjustRequest:
    """`Ajustar` tapped: ask for the quantity."""

    alert_id: str


@dataclass(frozen=True, slots=True)
class AdjustQuantity:
    """The quantity answered after `Ajustar`."""

    alert_id: str
    qty: int


@dataclass(frozen=True, slots=True)
class CancelAdjust:
    alert_id: str


@dataclass(frozen=True, slots=True)
class ApproveAll:
    """Approve every pending proposal, of one brand (or supplier) when `brand` is given."""

    brand: str | None = None


@dataclass(frozen=True, slots=True)
class Unrecognized:
    text: str


BuyerIntent = (Approve | Snooze | AdjustRequest | AdjustQuantity | CancelAdjust | ApproveAll
               | Unrecognized)

_BUTTON_ACTIONS: dict[str, type[Approve] | type[Snooze] | type[AdjustRequest]] = {
    "approve": Approve, "snooze": Snooze, "adjust": AdjustRequest}
APPROVE_ALL_BUTTON = "approve_all"

_APPROVE_ALL = re.compile(
    r"^\s*(?:aprobar|aprueba|apruebo|apruebalo|autorizar|autoriza|autorizo)\s+"
    r"(?:todo|todos|todas)(?:\s+(?:lo|los|las))?(?:\s+(?:de|del))?"
    r"(?:\s+(?P<brand>\S.*?))?\s*[.!]*\s*$")
_QUANTITY = re.compile(r"^\s*(?:[a-z]+\s+){0,3}(?P<qty>\d{1,5})(?:\s+[a-z]+){0,2}\s*[.!]*\s*$")
_CANCEL = re.compile(r"^\s*(?:cancelar|cancela|cancelo|no|nada|olvidalo)\s*[.!]*\s*$")


def fold(text: str) -> str:
    """Lower case without accents, one character for one (so match spans fit the original)."""
    return "".join(unicodedata.normalize("NFD", ch)[0].lower()[:1] or ch for ch in text)


def button_id(action: str, alert_id: str) -> str:
    return f"{action}:{alert_id}"


def parse_buyer_reply(message: InboundMessage, pending_adjust: str | None = None) -> BuyerIntent:
    """A buyer's message as an intent. `pending_adjust` is the alert whose `Ajustar` the buyer
    tapped last (kept per phone by the caller); only then is a bare quantity understood."""
    if message.button_id:
        if message.button_id == APPROVE_ALL_BUTTON:
            return ApproveAll()
        action, _, alert_id = message.button_id.partition(":")
        intent = _BUTTON_ACTIONS.get(action)
        if intent is not None and alert_id:
            return intent(alert_id)
    text = message.text or message.button_title or ""
    folded = fold(text)
    match = _APPROVE_ALL.match(folded)
    if match:
        start, end = match.span("brand")
        return ApproveAll(brand=text[start:end].strip() if start >= 0 else None)
    if pending_adjust:
        match = _QUANTITY.match(folded)
        if match:
            return AdjustQuantity(pending_adjust, int(match.group("qty")))
        if _CANCEL.match(folded):
            return CancelAdjust(pending_adjust)
    return Unrecognized(text)

