"""The grounding guard: every price, stock figure, SKU, date and discount in a reply must come
from a tool result of this turn. A reply with violations never reaches the customer as is.

Evidence is typed by field: a number is an allowed price only if some result carries it in a
price field (`price`, `unit_price`, `list_price`, `total`), so a budget the customer typed, or an
argument the model chose, can never turn into a price.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel

from processors.sales_agent.delivery import MX
from processors.sales_agent.formatting import MONTHS
from processors.sales_agent.tire_size import find_tire_size

PRICE_FIELDS = {"price", "unit_price", "list_price", "total"}
STOCK_FIELDS = {"stock_at_branch", "stock_total", "available", "total_available", "qty"}
PERCENT_FIELDS = {"discount_pct"}
CENT = Decimal("0.01")

_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?"
_PRICES = [
    re.compile(rf"(?:mxn|m\.n\.|mn)?\s*\$\s*(?P<n>{_NUM})(?:\s*(?P<mil>mil)\b)?", re.I),
    re.compile(rf"\b(?:mxn|m\.n\.)\s*(?P<n>{_NUM})", re.I),
    re.compile(rf"(?<![\d,.])(?P<n>{_NUM})\s*(?P<mil>mil\s+)?(?:pesos|mxn|m\.n\.|mn)\b", re.I),
    re.compile(rf"(?<![\d,.$])(?P<n>{_NUM})\s*(?:c/u|cada una|por llanta|por pieza)", re.I),
]
_STOCK = [
    re.compile(r"(?<![\d,.$])(?P<n>\d+)\s+(?:piezas?\s+|pzas?\s+|unidades\s+|llantas?\s+)?"
               r"(?:disponibles?|en existencia|en stock|en inventario)", re.I),
    re.compile(r"(?:disponibles?|existencias?|stock|inventario)(?:\s+en\s+[^:\n\d]{1,60})?"
               r"\s*:\s*(?P<n>\d+)", re.I),
    re.compile(r"\b(?:quedan|hay|tenemos|tengo|contamos con)\s+(?P<n>\d+)\s+"
               r"(?:piezas?|pzas?|llantas?|unidades)\b", re.I),
]
_SKU = re.compile(r"\b(?=[A-Z0-9-]*\d)(?=[A-Z0-9-]*[A-Z])[A-Z0-9]+(?:-[A-Z0-9]+)+\b")
_SKU_LABEL = re.compile(r"\bSKU\s*[:#]?\s*(?P<s>[A-Za-z0-9][A-Za-z0-9-]+)", re.I)
_MONTH = "|".join(MONTHS + ["setiembre"])
_DATES = [
    re.compile(rf"\b(?P<d>\d{{1,2}})\s+de\s+(?P<m>{_MONTH})(?:\s+(?:de|del)\s+(?P<y>\d{{4}}))?",
               re.I),
    re.compile(r"(?<![\d/])(?P<d>\d{1,2})/(?P<m>\d{1,2})(?:/(?P<y>\d{2,4}))?(?![\d/])"),
    re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})\b"),
]
_DISCOUNTS = [
    re.compile(r"(?P<n>\d{1,3}(?:[.,]\d+)?)\s*(?:%|por ciento)\s+(?:de\s+)?"
               r"(?:descuento|desc\b|off\b|menos\b|rebaja)", re.I),
    re.compile(r"(?:descuento|rebaja)\s+(?:del?\s+)?(?P<n>\d{1,3}(?:[.,]\d+)?)\s*"
               r"(?:%|por ciento)", re.I),
]


class Violation(BaseModel):
    kind: Literal["price", "stock", "sku", "date", "discount"]
    text: str


@dataclass
class Evidence:
    prices: set[Decimal] = field(default_factory=set)
    stock: set[int] = field(default_factory=set)
    identifiers: set[str] = field(default_factory=set)
    dates: set[date] = field(default_factory=set)
    percents: set[Decimal] = field(default_factory=set)


def collect_evidence(results: Iterable[BaseModel]) -> Evidence:
    evidence = Evidence()
    for result in results:
        _walk(result.model_dump(), None, evidence)
    return evidence


def check_reply(text: str, evidence: Evidence) -> list[Violation]:
    """Everything in `text` that no tool result of this turn backs."""
    violations: list[Violation] = []
    taken: list[tuple[int, int]] = []
    for pattern in _PRICES:
        for match in pattern.finditer(text):
            if _overlaps(match.span(), taken):
                continue
            taken.append(match.span())
            value = _decimal(match["n"])
            if value is not None and match.groupdict().get("mil"):
                value *= 1000
            if value is None or value.quantize(CENT) not in evidence.prices:
                violations.append(Violation(kind="price", text=match.group(0).strip()))
    for pattern in _STOCK:
        for match in pattern.finditer(text):
            if int(match["n"]) not in evidence.stock:
                violations.append(Violation(kind="stock", text=match.group(0).strip()))
    for token in {m.group(0) for m in _SKU.finditer(text)} | {
            m["s"] for m in _SKU_LABEL.finditer(text)}:
        if len(token) >= 6 and token.upper() not in evidence.identifiers \
                and find_tire_size(token) is None:
            violations.append(Violation(kind="sku", text=token))
    for pattern in _DATES:
        for match in pattern.finditer(text):
            if match.group(0) == "24/7":
                continue
            if not _date_backed(match, evidence.dates):
                violations.append(Violation(kind="date", text=match.group(0)))
    for pattern in _DISCOUNTS:
        for match in pattern.finditer(text):
            value = _decimal(match["n"].replace(",", "."))
            if value is None or value.normalize() not in evidence.percents:
                violations.append(Violation(kind="discount", text=match.group(0)))
    return violations


def _walk(value: Any, key: str | None, evidence: Evidence) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            _walk(v, str(k), evidence)
    elif isinstance(value, list | tuple | set):
        for item in value:
            _walk(item, key, evidence)
    elif isinstance(value, bool):
        return
    elif isinstance(value, datetime):
        evidence.dates.update({value.date(), value.astimezone(MX).date(),
                               value.astimezone(UTC).date()})
    elif isinstance(value, date):
        evidence.dates.add(value)
    elif isinstance(value, str):
        evidence.identifiers.add(value.upper())
    elif isinstance(value, int | Decimal | float):
        number = Decimal(str(value))
        if key in PRICE_FIELDS:
            evidence.prices.add(number.quantize(CENT))
        if key in PERCENT_FIELDS:
            evidence.percents.add(number.normalize())
        if key in STOCK_FIELDS and isinstance(value, int):
            evidence.stock.add(value)


def _decimal(raw: str) -> Decimal | None:
    try:
        return Decimal(raw.replace(",", ""))
    except InvalidOperation:
        return None


def _overlaps(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in taken)


def _date_backed(match: re.Match[str], dates: set[date]) -> bool:
    raw_month = match["m"].lower()
    month = (MONTHS.index(raw_month) + 1 if raw_month in MONTHS
             else 9 if raw_month == "setiembre" else int(raw_month))
    day = int(match["d"])
    year = int(match["y"]) if match["y"] else None
    if year is not None and year < 100:
        year += 2000
    try:
        date(year or 2000, month, day)
    except ValueError:
        return True  # not a date (e.g. a ratio); nothing to ground
    return any(d.day == day and d.month == month and (year is None or d.year == year)
               for d in dates)
