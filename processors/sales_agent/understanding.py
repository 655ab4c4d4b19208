"""Intent and slots of one customer message, for the deterministic path (no model needed).

The intent comes from a statistical classifier (`intents.classifier`, character n-grams, so
typos and unseen phrasings still land) with a few precise rules on top (a bare option number, a
prompt injection, a yes that names a brand). Slots come from rules and fuzzy name matching:
sizes, brands, vehicles, quantities, budgets, order numbers. The corpus in `intents/corpus`
measures both; add a message there before changing a rule here.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel

from processors.sales_agent import buttons
from processors.sales_agent.brands import find_brand
from processors.sales_agent.intents import slot_rules
from processors.sales_agent.intents.classifier import classifier, predict, predict_topic
from processors.sales_agent.intents.slot_rules import SIDE_TOPICS, OptionRank
from processors.sales_agent.intents.taxonomy import FaqTopic, Intent
from processors.sales_agent.text import fold, words
from processors.sales_agent.tire_size import TireSize, find_tire_size, tire_size_spans
from processors.sales_agent.vehicles import Vehicle, find_vehicle, find_year

__all__ = ["FaqTopic", "Intent", "Slots", "Understanding", "understand", "understand_button",
           "warm_up"]


class Slots(BaseModel):
    size: TireSize | None = None
    brand: str | None = None
    qty: int | None = None
    vehicle: Vehicle | None = None
    budget: Decimal | None = None
    budget_is_total: bool = False
    option: int | None = None
    option_rank: OptionRank | None = None  # "la más barata": resolved against what was offered
    order_id: int | None = None
    faq_topic: FaqTopic | None = None
    fulfilment: Literal["pickup", "delivery"] | None = None
    year: int | None = None
    quote_ref: str | None = None
    day: tuple[str, int] | None = None  # a delivery day as said ("weekday", 3): see day_named
    new_date: date | None = None  # a delivery day tapped on a reschedule button


class Understanding(BaseModel):
    intent: Intent
    slots: Slots
    greeted: bool = False
    injection: bool = False  # an attempt to change the agent's rules: counted and logged


_SHOPPING = {Intent.QUOTE, Intent.CHOOSE_OPTION, Intent.CONFIRM}
_CHOOSING = {Intent.CHOOSE_OPTION, Intent.CONFIRM}

_AMOUNT = (r"\$?\s*(?P<n>\d{1,3}(?:,\d{3})+|\d+(?:\.\d{1,2})?)\s*(?P<mil>mil)?\s*"
           r"(?:pesos|mxn|varos)?")
_BUDGET = re.compile(
    r"\b(?:menos de|menor a|menores a|maximo|max|hasta|no mas de|que no pasen? de|abajo de|"
    r"debajo de|por debajo de|presupuesto(?: es)?(?: de)?|tope de|no quiero gastar mas de)\s*"
    r"(?:unos\s+)?" + _AMOUNT)
_BUDGET_TOTAL = re.compile(r"\b(?:en total|por todo|por todas|total|por el juego|por las \d)\b")

_ORDER_WORD = re.compile(r"\b(?:pedido|pedidos|orden|order|folio|compra)\b")
_ORDER_ID = re.compile(
    r"(?:\b(?:pedido|orden|order|folio|compra)\s*(?:numero|num|no\.?)?\s*#?|#)\s*(\d{4,10})\b")
_LONG_NUMBER = re.compile(r"(?<![\d/])(\d{6,10})(?![\d/])")

_PICKUP = re.compile(r"\b(?:recoger|recogerlas|recogerla|paso por|pasar por|voy por|en sucursal|"
                     r"en la sucursal)\b")
_DELIVERY = re.compile(r"\b(?:domicilio|envio|enviar|envian|llevan|llevarlas|a mi casa|"
                       r"entregan|entrega)\b")
_GREETING = re.compile(r"^(?:hola\w*|holi|buen[oa]s?(?: dias| tardes| noches)?|buen dia|que tal|"
                       r"saludos|hey|hi|hello|que onda)\b")
# Precise enough to overrule the classifier: the message talks to the bot about its rules.
_INJECTION = re.compile(
    r"\b(?:ignora\w*|olvida\w*|ignore|disregard|forget)\b.{0,40}\b(?:instrucciones|reglas|"
    r"indicaciones|anterior\w*|previous|prior|rules|instructions|programacion|rol)\b|"
    r"\b(?:system prompt|tu prompt|your prompt|prompt completo|modo desarrollador|"
    r"developer mode|jailbreak|instrucciones internas|hidden rules)\b|"
    r"^\s*system\s*:|\b(?:ahora eres|now you are|you are now|pretend you are|actua como)\b")
_HANDOFF = re.compile(
    r"\b(?:hablar|habla|comunic\w*|pasa\w*|contact\w*|atien\w*|transfer\w*|talk|speak|"
    r"conect\w*)\b.{0,25}\b(?:alguien|persona|asesor\w*|humano|agente|ejecutivo|vendedor\w*|"
    r"gerente|encargad\w*|someone|human|agent|person)\b|"
    r"\b(?:llamame|marcame|llamenme|marquenme|que me llamen|me pueden llamar|me marca\w*)\b")
_AFFIRM = re.compile(
    r"^(?:si+|sip|simon|claro|va|vale|dale|ok|okay|oki|okey|sale|orale|andale|perfecto|"
    r"de acuerdo|esta bien|listo|adelante|confirmo|correcto|hagamoslo|yes|por favor)\b")
_THANKS = re.compile(r"\b(?:gracias|grax|thx|thanks|thank you|muy amable)\b")
# A question on a FAQ topic no buying message has is a FAQ even with a size or "llanta" in it:
# symptoms and tire markings whatever the classifier says, hours and wear over a weak guess.
_KEEP_INTENT = {Intent.FAQ, Intent.HANDOFF, Intent.INJECTION}
_FAQ_ONLY_FROM = {Intent.QUOTE, Intent.UNKNOWN, Intent.CHOOSE_OPTION, Intent.GREETING,
                  Intent.INJECTION, Intent.CONFIRM, Intent.THANKS}


def warm_up() -> None:
    """Fit the classifier now (a few hundred ms), so a worker's first customer does not wait."""
    classifier()


def understand(text: str) -> Understanding:
    """Intent and slots of a free-text message."""
    folded = fold(text)
    rest, size, budget, budget_is_total, order_id = _blanked(folded)
    vehicle = find_vehicle(rest)
    brand = find_brand(folded)
    option = slot_rules.option(rest)
    intent = _intent(text, rest, size=size, brand=brand, option=option,
                     vehicle=vehicle)
    choosing, shopping = intent in _CHOOSING, intent in _SHOPPING
    topic = slot_rules.faq_topic(rest)
    if intent is Intent.FAQ and topic is None:
        topic = predict_topic(text)
    if not (intent is Intent.FAQ or shopping and topic in SIDE_TOPICS):
        topic = None
    fulfilment = ("pickup" if _PICKUP.search(rest) else "delivery" if _DELIVERY.search(rest)
                  else None)
    slots = Slots(
        size=size, brand=brand, qty=slot_rules.quantity(rest) if shopping else None,
        vehicle=vehicle, budget=budget, budget_is_total=budget_is_total,
        option=option if choosing else None,
        option_rank=slot_rules.option_rank(rest) if choosing and option is None else None,
        order_id=order_id, faq_topic=topic, fulfilment=fulfilment,
        year=vehicle.year if vehicle else find_year(rest), day=slot_rules.day_named(rest))
    return Understanding(intent=intent, slots=slots, greeted=bool(_GREETING.search(folded)),
                         injection=intent is Intent.INJECTION)


def understand_button(button_id: str) -> Understanding:
    """Intent of a tapped reply button (ids from `buttons`, and the routes flow's
    `route:change_time:<order>` "CAMBIAR HORA")."""
    kind, arg = buttons.parse_button(button_id)
    if kind == "opt" and arg.isdigit():
        return Understanding(intent=Intent.CHOOSE_OPTION, slots=Slots(option=int(arg)))
    if kind == "confirm":
        return Understanding(intent=Intent.CONFIRM, slots=Slots(quote_ref=arg or None))
    if kind == "route" and arg.startswith("change_time"):
        order = arg.rpartition(":")[2]
        return Understanding(intent=Intent.RESCHEDULE,
                             slots=Slots(order_id=int(order) if order.isdigit() else None))
    if kind == buttons.RESCHEDULE:
        order, _, day = arg.partition(":")
        try:
            new_date = date.fromisoformat(day)
        except ValueError:
            new_date = None
        return Understanding(intent=Intent.RESCHEDULE, slots=Slots(
            order_id=int(order) if order.isdigit() else None, new_date=new_date))
    by_id = {buttons.HUMAN: Intent.HANDOFF, buttons.MORE_OPTIONS: Intent.QUOTE,
             buttons.DECLINE: Intent.DECLINE, buttons.ORDER_STATUS: Intent.ORDER_STATUS}
    return Understanding(intent=by_id.get(kind, Intent.UNKNOWN), slots=Slots())


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def _mark(text: str, spans: list[tuple[int, int]], mark: str) -> str:
    for start, end in sorted(spans, reverse=True):
        text = f"{text[:start]} {mark} {text[end:]}"
    return text


def _blanked(folded: str) -> tuple[str, TireSize | None, Decimal | None, bool, int | None]:
    """The text with size (a mark), budget and order number blanked out (so "16" is no
    quantity), and those three slots."""
    size = find_tire_size(folded)
    rest = _mark(folded, tire_size_spans(folded), slot_rules.SIZE_MARK)
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
    return rest, size, budget, budget_is_total, order_id


def _order_id(text: str) -> int | None:
    match = _ORDER_ID.search(text)
    if match is None and _ORDER_WORD.search(text):
        match = _LONG_NUMBER.search(text)
    return int(match.group(1)) if match else None


def _intent(text: str, rest: str, *, size: TireSize | None, brand: str | None,
            option: int | None, vehicle: Vehicle | None) -> Intent:
    """The classifier's intent, overruled only where a rule is precise."""
    if _INJECTION.search(rest):
        return Intent.INJECTION
    n_words = len(words(rest))
    if option is not None and n_words <= 3 and size is None:
        return Intent.CHOOSE_OPTION  # "2", "la 2", "la primera porfa"
    if _HANDOFF.search(rest):
        return Intent.HANDOFF
    intent = predict(text).intent
    topic = slot_rules.faq_topic(rest)
    if option is None and (topic in slot_rules.STRONG_TOPICS and intent not in _KEEP_INTENT
                           or topic in slot_rules.WEAK_TOPICS and intent in _FAQ_ONLY_FROM):
        return Intent.FAQ  # "¿a cuántas libras inflo la 205/55R16?"
    if n_words <= 4 and intent not in _SHOPPING and slot_rules.quantity(rest) is not None:
        return Intent.QUOTE  # "un juego", "x4": answering "¿cuántas?"
    if n_words <= 3 and brand is None and size is None:
        if _AFFIRM.search(rest) and "?" not in text and not _THANKS.search(rest):
            return Intent.CONFIRM  # "siii 👍", "de acuerdo"
        if _GREETING.search(rest) and intent in (Intent.FAQ, Intent.UNKNOWN, Intent.CONFIRM):
            return Intent.GREETING
    if intent is Intent.CONFIRM and brand is not None:
        return Intent.CHOOSE_OPTION  # "sí, las Michelin"
    if intent is Intent.CONFIRM and "?" in text and (
            size or vehicle or slot_rules.quantity(rest) is not None):
        return Intent.QUOTE  # "¿y si son 2 llantas?" asks, it does not confirm
    if intent is Intent.CHOOSE_OPTION and option is None and brand is None and (
            size is not None or (vehicle is not None and vehicle.model)):
        return Intent.QUOTE
    return intent
