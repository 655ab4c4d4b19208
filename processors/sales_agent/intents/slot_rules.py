"""Rules for the slots that are not names: quantity, the option picked, the FAQ topic.

Run on folded text with sizes, budgets and order numbers already blanked out, so "16" or a
year is never a quantity. Each rule is a pattern customers of a Mexican tire shop write.
"""

from __future__ import annotations

import re
from typing import Literal

from processors.sales_agent.brands import BRAND_ALIASES
from processors.sales_agent.intents.taxonomy import FaqTopic

OptionRank = Literal["cheapest", "best", "middle", "last"]
SIZE_MARK = "zzmedida"  # what a tire size is replaced with before these rules run

NUMBER_WORDS = {"un": 1, "una": 1, "uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5,
                "seis": 6, "ocho": 8, "diez": 10, "doce": 12, "one": 1, "two": 2, "four": 4}
_N = rf"(\d{{1,2}}|{'|'.join(NUMBER_WORDS)})"
_TIRE_WORD = (r"(?:llantas?|llantitas?|neumaticos?|piezas?|pzas?|gomas?|unidades|ruedas|"
              r"tires?|tyres?|yantas?|lantas?|llamtas?)")
_EXPLICIT = [
    re.compile(rf"\b{_N}\s*{_TIRE_WORD}\b"),
    re.compile(rf"\b{_N}\s+de\s+(?:la|las|esa|esas)\b"),
    re.compile(rf"\b{_N}\s+(?:de\s+)?(?:las?\s+)?"
               rf"(?:{'|'.join(sorted(BRAND_ALIASES, key=len, reverse=True))})\b"),
    re.compile(r"(?:\bx\s*(\d{1,2})|\b(\d{1,2})\s*x)\b"),
    re.compile(rf"\b{_N}\s+(?:de\s+)?(?:las?\s+)?{SIZE_MARK}\b"),  # "cotizame 4 LT225/75R16"
]
# "son 4", "ocupo 2 para mi versa", "las 4 de mi rav4": a bare count after a verb or article.
_N_BARE = r"(\d{1,2}|dos|tres|cuatro|cinco|seis|ocho|diez|doce|two|four)"
_BARE = re.compile(
    rf"\b(?:son|serian|seran|ocupo|ocupamos|necesito|quiero|nomas|nada mas|solo|solamente|"
    rf"dame|me das|me vendes|vendeme|me urgen?|cambiar las|las|need|want|juego de)\s+{_N_BARE}\b"
    rf"(?!\s*(?:de la (?:manana|tarde|noche)|pm|am|hrs?|horas?|km|anos|dias|:))")
_TIME_BEFORE = re.compile(r"(?:\b(?:de|a|despues de|antes de)\s+)$")
_SET = re.compile(r"\b(?:juego|juegos|las cuatro|todas las llantas|todas|all four|set of)\b")
_PAIR = re.compile(r"\b(?:par|pair|delanteras|traseras|de adelante|de enfrente|de atras|"
                   r"front ones|rear ones)\b")
_ONE = re.compile(
    r"\b(?:una sola|solo una|sola una|nada mas una|nomas una|una nomas|single)\b|"
    r"\b(?:una|la|mi|otra|esta|esa|1|ocupo|necesito|vendes|busco)\s+"
    r"(?:llanta|llantita|neumatico|goma|rueda|tire|tyre)\b(?!s)|"
    r"\b(?:ocupo|necesito|quiero|dame|vendes|vende|vendeme)\s+(?:una|1)\s*(?:[,.]|$|para|pa\b)|"
    r"\b(?:la|una) de (?:refaccion|repuesto)\b")

_ORDINALS = {"primera": 1, "primero": 1, "primer": 1, "primerita": 1, "1ra": 1, "1a": 1,
             "segunda": 2, "segundo": 2, "2da": 2, "2a": 2, "tercera": 3, "tercero": 3,
             "tercer": 3, "3ra": 3, "3a": 3, "first": 1, "second": 2, "third": 3}
_OPTION_ORDINAL = re.compile(r"\b(" + "|".join(sorted(_ORDINALS, key=len, reverse=True))
                             + r")\b")
_OPTION_NUMBER = re.compile(
    r"(?:\b(?:la|el|opcion|numero|num|number|option)|#)\s*(?:numero\s*|#\s*)?"
    r"([1-3]|uno|dos|tres|one|two|three)\b(?!\s*" + _TIRE_WORD + r")")
_ONLY_NUMBER = re.compile(r"^\s*([1-3])\s*$")
_OPTION_WORDS = {"uno": 1, "dos": 2, "tres": 3, "one": 1, "two": 2, "three": 3}
_RANKS: list[tuple[OptionRank, re.Pattern[str]]] = [
    ("cheapest", re.compile(r"\b(?:barat\w*|economic\w*|cheap\w*|menor precio|accesible)\b")),
    ("best", re.compile(r"\b(?:la mejor|las mejores|mas car[ao]s?|la buena|las buenas|premium|"
                        r"the best|mejor calidad)\b")),
    ("middle", re.compile(r"\b(?:en ?medio|intermedias?|middle)\b")),
    ("last", re.compile(r"\b(?:ultimas?|the last)\b")),
]

_FAQ_TOPICS: list[tuple[FaqTopic, re.Pattern[str]]] = [
    ("load_index", re.compile(
        r"\b(?:indices? de (?:carga|velocidad)|indice|carga soporta|cuanto peso|que carga|"
        r"load (?:index|rating)|speed rating|letra [a-z]|la letra|numeritos|\d{2,3}[a-z]|"
        r"significan? (?:los|las|el|la)? ?(?:numeros|letras?))\b|"
        r"\b(?:significa|quiere decir|que es) (?:el|la|los|eso de)? ?\d{2,3} ?[a-z]?\b")),
    ("rotation", re.compile(r"\b(?:rota\w*|roto|rotacion|rotate|rotation|rotan)\b")),
    ("vibration", re.compile(
        r"\b(?:vibr\w*|tiembla\w*|tiemble|sacude|mueve el volante|volante se mueve|zumbido|"
        r"golpeteo|shak\w*|wobbl\w*|se jala|se va de lado|vibradera)\b")),
    ("pressure", re.compile(
        r"\b(?:presion|inflo|inflar|infla|inflan|inflado|inflarlas|libras|psi|aire|calibr\w*|"
        r"pressure|bajitas|inflate)\b")),
    ("warranty", re.compile(r"\b(?:garantias?|defectos? de fabrica|warranty|revienta|"
                            r"reviento)\b")),
    ("lifespan", re.compile(
        r"\b(?:cada cuanto se cambian|cuanto duran?|cuantos (?:km|kilometros) (?:duran?|aguanta)|"
        r"cuando (?:debo|hay que|tengo que) cambiar|tengo que cambiar|gastadas|desgast\w*|"
        r"testigo|caducan|caduca|vida util|fecha de fabricacion|dot|cuantos anos|ya no sirve|"
        r"todavia sirven|aguanta una|dibujo|worn|tread|how long do)\b")),
    ("alignment", re.compile(r"\b(?:alineacion|alinear|alineado|alinean|balanceo|balancear|"
                             r"balancean|balanceado|valvulas)\b")),
    ("installation", re.compile(r"\b(?:instalacion|instalar|instalan|instalarlas|instalado|"
                                r"montaje|montar|montan|montada|me las ponen|las ponen|"
                                r"colocan)\b")),
    ("payment", re.compile(r"\b(?:pago|pagos|pagar|pagarlas|tarjeta|efectivo|transferencia|"
                           r"meses sin intereses|msi|a meses|credito|factura|facturan|"
                           r"deposito|oxxo|credit cards?|cards?|pay with|payment)\b")),
    ("hours", re.compile(
        r"\b(?:horarios?|abren|abierto|abiertos|cierran|atienden|domingos?|sabados?|que dias|"
        r"ubicad\w*|direccion|sucursal (?:por|en|cerca)|donde (?:estan|queda|quedan|los)|"
        r"open|opening|close|hours|store hours)\b")),
    ("delivery", re.compile(r"\b(?:envio|envios|enviar|envian|entrega|entregan|domicilio|"
                            r"a mi casa|llevan|me las llevan|recoger|recogerlas|paso por|"
                            r"pasar por)\b")),
]
# Topics a buying message may ask on the side ("¿mañana las puedo recoger?"); the others make
# a message a FAQ question even when it names a size or "llanta".
SIDE_TOPICS: set[FaqTopic] = {"delivery", "payment", "installation", "warranty", "alignment"}
STRONG_TOPICS: set[FaqTopic] = {"vibration", "load_index", "rotation", "pressure", "lifespan"}
WEAK_TOPICS: set[FaqTopic] = {"hours"}


def quantity(text: str) -> int | None:
    """Tires wanted, from a message about buying (elsewhere "las 4" is a time, "una llanta"
    the subject of a question): counts with a tire word, bare counts, sets, a singular noun."""
    for pattern in _EXPLICIT:
        qty = _count(pattern.search(text))
        if qty is not None:
            return qty
    for match in _BARE.finditer(text):
        if not _TIME_BEFORE.search(text[:match.start()]):
            qty = _count(match)
            if qty is not None:
                return qty
    if _SET.search(text):
        return 4
    if _PAIR.search(text):
        return 2
    return 1 if _ONE.search(text) else None


def _count(match: re.Match[str] | None) -> int | None:
    if match is None:
        return None
    raw = next(g for g in match.groups() if g)
    qty = int(raw) if raw.isdigit() else NUMBER_WORDS[raw]
    return qty if 1 <= qty <= 40 else None


def option(text: str) -> int | None:
    match = _OPTION_ORDINAL.search(text)
    if match:
        return _ORDINALS[match.group(1)]
    match = _OPTION_NUMBER.search(text) or _ONLY_NUMBER.match(text)
    if match is None:
        return None
    raw = match.group(1)
    return int(raw) if raw.isdigit() else _OPTION_WORDS[raw]


def option_rank(text: str) -> OptionRank | None:
    return next((rank for rank, rx in _RANKS if rx.search(text)), None)


def faq_topic(text: str) -> FaqTopic | None:
    return next((topic for topic, rx in _FAQ_TOPICS if rx.search(text)), None)


_WEEKDAYS = {"lunes": 0, "martes": 1, "miercoles": 2, "jueves": 3, "viernes": 4, "sabado": 5,
             "domingo": 6, "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3,
             "friday": 4, "saturday": 5, "sunday": 6}
_WEEKDAY = re.compile(r"\b(" + "|".join(_WEEKDAYS) + r")\b")
_DAYS_AHEAD = [(2, re.compile(r"\bpasado manana\b")),
               (1, re.compile(r"(?<!\bla )(?<!\bpor la )\b(?:manana|tomorrow)\b")),
               (0, re.compile(r"\b(?:hoy|today)\b"))]
_DAY_OF_MONTH = re.compile(r"\bel (?:dia )?(\d{1,2})\b(?! de la| llantas| pm| am|:)")


def day_named(text: str) -> tuple[str, int] | None:
    """A delivery day as said: ("weekday", 0-6), ("ahead", days from today) or ("month_day",
    1-31); resolved against the offered days by the dialog, which knows today."""
    match = _WEEKDAY.search(text)
    if match:
        return "weekday", _WEEKDAYS[match.group(1)]
    for ahead, pattern in _DAYS_AHEAD:
        if pattern.search(text):
            return "ahead", ahead
    match = _DAY_OF_MONTH.search(text)
    if match and 1 <= int(match.group(1)) <= 31:
        return "month_day", int(match.group(1))
    return None
