"""Intent and slots of one customer message, for the deterministic path (no model needed).

Rules, not a model: every pattern below is one a customer of a Mexican tire shop writes on
WhatsApp. `eval_set.yaml` measures them; add a case there before changing a rule here.
"""

from __future__ import annotations

import re
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel

from processors.sales_agent import buttons
from processors.sales_agent.brands import BRAND_ALIASES, find_brand
from processors.sales_agent.text import fold, words
from processors.sales_agent.tire_size import TireSize, find_tire_size, tire_size_spans
from processors.sales_agent.vehicles import Vehicle, find_vehicle, find_year

FaqTopic = Literal["warranty", "alignment", "pressure", "installation", "payment", "delivery"]


class Intent(StrEnum):
    GREETING = "greeting"
    QUOTE = "quote"
    CHOOSE_OPTION = "choose_option"
    CONFIRM = "confirm"
    DECLINE = "decline"
    ORDER_STATUS = "order_status"
    FAQ = "faq"
    HANDOFF = "handoff"
    DISCOUNT = "discount"
    THANKS = "thanks"
    UNKNOWN = "unknown"


class Slots(BaseModel):
    size: TireSize | None = None
    brand: str | None = None
    qty: int | None = None
    vehicle: Vehicle | None = None
    budget: Decimal | None = None
    budget_is_total: bool = False
    option: int | None = None
    order_id: int | None = None
    faq_topic: FaqTopic | None = None
    fulfilment: Literal["pickup", "delivery"] | None = None
    year: int | None = None
    quote_ref: str | None = None


class Understanding(BaseModel):
    intent: Intent
    slots: Slots
    greeted: bool = False


_NUMBER_WORDS = {"un": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6,
                 "ocho": 8, "diez": 10, "doce": 12}
_TIRE_WORD = r"(?:llantas?|neumaticos?|piezas?|pzas?|gomas?|unidades|ruedas)"
_QTY_DIGITS = re.compile(rf"\b(\d{{1,2}})\s*{_TIRE_WORD}\b")
_QTY_WORDS = re.compile(rf"\b({'|'.join(_NUMBER_WORDS)})\s+{_TIRE_WORD}\b")
_QTY_OF_OPTION = re.compile(
    rf"\b(\d{{1,2}}|{'|'.join(_NUMBER_WORDS)})\s+de\s+(?:la|las|esa|esas)\b")
_QTY_BEFORE_BRAND = re.compile(
    rf"\b(\d{{1,2}}|{'|'.join(_NUMBER_WORDS)})\s+(?:de\s+)?(?:las?\s+)?"
    rf"(?:{'|'.join(sorted(BRAND_ALIASES, key=len, reverse=True))})\b")
_QTY_TIMES = re.compile(r"(?:\bx\s*(\d{1,2})|\b(\d{1,2})\s*x)\b")
_QTY_SET = re.compile(r"\b(?:juego|juego completo|las cuatro|las 4|todas las llantas)\b")
_QTY_PAIR = re.compile(r"\bpar\b")

_AMOUNT = (r"\$?\s*(?P<n>\d{1,3}(?:,\d{3})+|\d+(?:\.\d{1,2})?)\s*(?P<mil>mil)?\s*"
           r"(?:pesos|mxn|varos)?")
_BUDGET = re.compile(
    r"\b(?:menos de|menor a|menores a|maximo|max|hasta|no mas de|que no pasen? de|abajo de|"
    r"debajo de|por debajo de|presupuesto(?: es)?(?: de)?|tope de|no quiero gastar mas de)\s*"
    r"(?:unos\s+)?" + _AMOUNT)
_BUDGET_TOTAL = re.compile(r"\b(?:en total|por todo|por todas|total|por el juego|por las \d)\b")

_ORDINALS = {"primera": 1, "primero": 1, "primer": 1, "1ra": 1, "1a": 1, "segunda": 2,
             "segundo": 2, "2da": 2, "2a": 2, "tercera": 3, "tercero": 3, "tercer": 3, "3ra": 3,
             "3a": 3}
_OPTION_ORDINAL = re.compile(
    r"\b(?:(?:la|el|opcion)\s+(primer[ao]?|segund[ao]|tercer[ao]?|1ra|2da|3ra|1a|2a|3a)|"
    r"(primera|segunda|tercera))\b")
_OPTION_NUMBER = re.compile(
    r"(?:\b(?:la|el|opcion|numero|num)|#)\s*(?:numero\s*|#\s*)?([1-3])\b(?!\s*" + _TIRE_WORD
    + r")")
_ONLY_NUMBER = re.compile(r"^\s*([1-3])\s*$")

_ORDER_WORD = re.compile(r"\b(?:pedido|pedidos|orden|folio|compra)\b")
_ORDER_STATUS_WORD = re.compile(
    r"\b(?:donde|estatus|status|estado|rastre\w*|llega|llegan|llegara|cuando|ya salio|"
    r"ya viene|ya llego|seguimiento|como va|no ha llegado|no me ha llegado)\b")
_ORDER_ID = re.compile(
    r"(?:\b(?:pedido|orden|folio|compra)\s*(?:numero|num|no\.?)?\s*#?|#)\s*(\d{4,10})\b")
_LONG_NUMBER = re.compile(r"(?<![\d/])(\d{6,10})(?![\d/])")

_FAQ_KEYWORDS: dict[FaqTopic, re.Pattern[str]] = {
    "warranty": re.compile(r"\b(?:garantias?|defectos? de fabrica)\b"),
    "alignment": re.compile(r"\b(?:alineacion|alinear|alineado|alinean|balanceo|balancear|"
                            r"balancean|balanceado)\b"),
    "pressure": re.compile(r"\b(?:presion|inflar|inflado|inflarlas|libras|psi|cuanto aire)\b"),
    "installation": re.compile(r"\b(?:instalacion|instalar|instalan|instalarlas|instalado|"
                               r"montaje|montar|montan|me las ponen|las ponen|colocan)\b"),
    "payment": re.compile(r"\b(?:pago|pagos|pagar|pagarlas|tarjeta|efectivo|transferencia|"
                          r"meses sin intereses|msi|credito|factura|facturan|deposito|oxxo)\b"),
    "delivery": re.compile(r"\b(?:envio|envios|enviar|envian|entrega|entregan|domicilio|"
                           r"a mi casa|llevan|me las llevan|recoger|recogerlas|paso por|"
                           r"pasar por)\b"),
}
_PICKUP = re.compile(r"\b(?:recoger|recogerlas|recogerla|paso por|pasar por|voy por|en sucursal|"
                     r"en la sucursal)\b")
_DELIVERY = re.compile(r"\b(?:domicilio|envio|enviar|envian|llevan|llevarlas|a mi casa|"
                       r"entregan|entrega)\b")
_HANDOFF = re.compile(
    r"\b(?:hablar|comunicar|contactar|platicar|atender)\w*\s+con\s+(?:alguien|una persona|"
    r"un asesor|un humano|un agente|un vendedor|una persona real|un ejecutivo|el gerente|"
    r"una vendedora|una asesora)\b|\b(?:asesor|asesora|humano|persona real|ejecutivo|"
    r"agente humano|queja|gerente|llamenme|marquenme|que me llamen|me pueden llamar|me marcan|"
    r"me llaman|marcame|llamame)\b")
_DISCOUNT = re.compile(r"\b(?:descuento|descuentos|rebaja|rebajita|precio especial|"
                       r"me (?:lo|la|los|las) dejas? en|regatear)\b")
_GREETING = re.compile(r"^(?:hola|holi|buen[oa]s?(?: dias| tardes| noches)?|buen dia|que tal|"
                       r"saludos|hey)\b")
_AFFIRM_START = re.compile(
    r"^(?:si|sii|sip|simon|claro|va|vale|dale|ok|okay|oki|sale|orale|andale|perfecto|"
    r"de acuerdo|esta bien|me parece bien|listo|adelante|confirmo|correcto|hagamoslo|yes|"
    r"por favor)\b")
_RESERVE = re.compile(
    r"\b(?:apartal[ao]s?|apartame(?:las|los)?|apartamel[ao]s|reservamel[ao]s|reservalas|"
    r"reservala|confirmo|las quiero|la quiero|me las llevo|me la llevo|hagamoslo|adelante con|"
    r"si las quiero|si la quiero)\b")
_CANCEL = re.compile(r"\b(?:cancela\w*|ya no|no las quiero|no la quiero|no gracias|mejor no|"
                     r"no me interesa)\b")
_THANKS = re.compile(r"\b(?:gracias|grax|thx|muy amable|te lo agradezco)\b")
_DECLINE = re.compile(r"^(?:no|nop|nel|mejor no|ninguna|cancela|cancelar|no gracias|"
                      r"no me interesa|asi no|ya no)\b")
_CHOOSE_PHRASE = re.compile(r"\b(?:me interesa|me interesan|me quedo con|quiero la|quiero las|"
                            r"me llevo la|me llevo las|prefiero la|prefiero las|dame la|"
                            r"dame las|la de|las de)\b")
_QUOTE_WORD = re.compile(r"\b(?:llantas?|neumaticos?|rin|rines|medida|precio|precios|cuesta|"
                         r"cuestan|cotiza\w*|cotizacion|cuanto sale|cuanto salen|cuanto me sale|"
                         r"cuanto me salen|manejan|tienen|hay)\b")


def understand(text: str) -> Understanding:
    """Intent and slots of a free-text message."""
    folded = fold(text)
    slots, rest = _slots(folded)
    return Understanding(intent=_intent(folded, rest, slots, asked="?" in text), slots=slots,
                         greeted=bool(_GREETING.search(folded)))


def understand_button(button_id: str) -> Understanding:
    """Intent of a tapped reply button (ids from `buttons`)."""
    kind, arg = buttons.parse_button(button_id)
    if kind == "opt" and arg.isdigit():
        return Understanding(intent=Intent.CHOOSE_OPTION, slots=Slots(option=int(arg)))
    if kind == "confirm":
        return Understanding(intent=Intent.CONFIRM, slots=Slots(quote_ref=arg or None))
    by_id = {buttons.HUMAN: Intent.HANDOFF, buttons.MORE_OPTIONS: Intent.QUOTE,
             buttons.DECLINE: Intent.DECLINE, buttons.ORDER_STATUS: Intent.ORDER_STATUS}
    return Understanding(intent=by_id.get(kind, Intent.UNKNOWN), slots=Slots())


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def _slots(folded: str) -> tuple[Slots, str]:
    """Slots, and the text with size and budget blanked out (so "16" is no quantity)."""
    size = find_tire_size(folded)
    rest = _blank(folded, tire_size_spans(folded))
    budget, budget_is_total = None, False
    budget_match = _BUDGET.search(rest)
    if budget_match:
        value = Decimal(budget_match["n"].replace(",", ""))
        value = value * 1000 if budget_match["mil"] else value
        if value >= 100:
            budget = value
            budget_is_total = bool(_BUDGET_TOTAL.search(rest))
        rest = _blank(rest, [budget_match.span()])
    order_id = _order_id(rest)
    if order_id is not None:
        rest = rest.replace(str(order_id), " ")
    faq_topic = next((topic for topic, rx in _FAQ_KEYWORDS.items() if rx.search(rest)), None)
    fulfilment = ("pickup" if _PICKUP.search(rest) else "delivery" if _DELIVERY.search(rest)
                  else None)
    vehicle = find_vehicle(rest)
    slots = Slots(size=size, brand=find_brand(folded), qty=_quantity(rest), vehicle=vehicle,
                  budget=budget, budget_is_total=budget_is_total, option=_option(rest),
                  order_id=order_id, faq_topic=faq_topic, fulfilment=fulfilment,
                  year=vehicle.year if vehicle else find_year(rest))
    return slots, rest


def _quantity(text: str) -> int | None:
    for pattern in (_QTY_DIGITS, _QTY_WORDS, _QTY_OF_OPTION, _QTY_BEFORE_BRAND, _QTY_TIMES):
        match = pattern.search(text)
        if match:
            raw = next(g for g in match.groups() if g)
            qty = int(raw) if raw.isdigit() else _NUMBER_WORDS[raw]
            if 1 <= qty <= 40:
                return qty
    if _QTY_SET.search(text):
        return 4
    if _QTY_PAIR.search(text):
        return 2
    return None


def _option(text: str) -> int | None:
    match = _OPTION_ORDINAL.search(text)
    if match:
        return _ORDINALS[match.group(1) or match.group(2)]
    match = _OPTION_NUMBER.search(text) or _ONLY_NUMBER.match(text)
    return int(match.group(1)) if match else None


def _order_id(text: str) -> int | None:
    match = _ORDER_ID.search(text)
    if match is None and _ORDER_WORD.search(text):
        match = _LONG_NUMBER.search(text)
    return int(match.group(1)) if match else None


def _intent(folded: str, rest: str, slots: Slots, *, asked: bool) -> Intent:
    n_words = len(words(folded))
    if _HANDOFF.search(rest):
        return Intent.HANDOFF
    if _ORDER_WORD.search(rest) and (_ORDER_STATUS_WORD.search(rest) or slots.order_id):
        return Intent.ORDER_STATUS
    if slots.size or (slots.vehicle and slots.vehicle.model):
        return Intent.QUOTE
    if slots.option is not None:
        return Intent.CHOOSE_OPTION
    if _DISCOUNT.search(rest):
        return Intent.DISCOUNT
    if _CANCEL.search(rest) or (_DECLINE.search(rest) and n_words <= 6 and slots.brand is None):
        return Intent.DECLINE
    if _RESERVE.search(rest) or (_AFFIRM_START.search(rest) and n_words <= 5 and not asked
                                 and slots.brand is None and not _THANKS.search(rest)):
        return Intent.CONFIRM
    if slots.brand and _CHOOSE_PHRASE.search(rest):
        return Intent.CHOOSE_OPTION
    if slots.faq_topic:
        return Intent.FAQ
    if slots.brand or slots.qty or slots.budget or _QUOTE_WORD.search(rest):
        return Intent.QUOTE
    if _GREETING.search(rest):
        return Intent.GREETING
    if _THANKS.search(rest):
        return Intent.THANKS
    return Intent.UNKNOWN
