"""What the grounding guard may let a reply say: the figures of this turn's tool results, typed
by field and attached to their product.

A number is an allowed price only if a result carries it in a customer price field (`price`,
`unit_price`, `total`) of the product the reply is talking about; `list_price` only where the
reply calls it the list price. A budget the customer typed, an argument the model chose or an id
can never turn into a price. Plain numbers (quantities, stock, order ids, load indexes, numbers
in store texts, the numbers of the customer's own message) ground non-money figures only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from processors.sales_agent.delivery import BRANCH_CLOSE, BRANCH_OPEN, MX
from processors.sales_agent.numbers_es import find_numbers, fold_word

PRICE_FIELDS = {"price", "unit_price", "total"}
LIST_PRICE_FIELDS = {"list_price"}
STOCK_FIELDS = {"stock_at_branch", "stock_total", "available", "total_available", "qty"}
PERCENT_FIELDS = {"discount_pct"}
NAME_FIELDS = {"brand", "model", "sku"}
CENT = Decimal("0.01")
STORE_HOURS = {BRANCH_OPEN, BRANCH_CLOSE}
_TIME = re.compile(r"\b(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)\b")
_MONEY_IN_TEXT = re.compile(r"\$\s*$|\b(?:mxn|pesos)\b", re.I)
_PERCENT_AFTER = re.compile(r"\s*(?:%|por\s*ciento)", re.I)


@dataclass
class ProductFacts:
    product_id: int
    names: set[str] = field(default_factory=set)  # folded brand, model, sku
    brand: str | None = None
    prices: set[Decimal] = field(default_factory=set)
    list_prices: set[Decimal] = field(default_factory=set)
    ordinals: set[int] = field(default_factory=set)  # position among the options shown


@dataclass
class Evidence:
    prices: set[Decimal] = field(default_factory=set)  # every customer price, any product
    list_prices: set[Decimal] = field(default_factory=set)
    store_money: set[Decimal] = field(default_factory=set)  # amounts in store texts (FAQ)
    products: dict[int, ProductFacts] = field(default_factory=dict)
    stock: set[int] = field(default_factory=set)
    identifiers: set[str] = field(default_factory=set)
    dates: set[date] = field(default_factory=set)
    times: set[time] = field(default_factory=lambda: set(STORE_HOURS))
    percents: set[Decimal] = field(default_factory=set)
    numbers: set[Decimal] = field(default_factory=set)  # plain, non-money


def collect_evidence(results: Iterable[BaseModel], customer_text: str | None = None
                     ) -> Evidence:
    """The facts of this turn's tool results, plus the plain numbers the customer wrote."""
    evidence = Evidence()
    for result in results:
        _walk(result.model_dump(), None, evidence, None)
    if customer_text:
        for mention in find_numbers(customer_text):
            evidence.numbers.update(mention.values)
    return evidence


def _walk(value: Any, key: str | None, evidence: Evidence, product: ProductFacts | None
          ) -> None:
    if isinstance(value, Mapping):
        if "product_id" in value and isinstance(value["product_id"], int):
            product = evidence.products.setdefault(
                value["product_id"], ProductFacts(product_id=value["product_id"]))
        for k, v in value.items():
            if k == "options" and isinstance(v, list):
                for ordinal, option in enumerate(v, start=1):
                    _walk(option, None, evidence, None)
                    if isinstance(option, Mapping) and option.get("product_id") in \
                            evidence.products:
                        evidence.products[option["product_id"]].ordinals.add(ordinal)
                continue
            _walk(v, str(k), evidence, product)
    elif isinstance(value, list | tuple | set):
        for item in value:
            _walk(item, key, evidence, product)
    elif isinstance(value, bool):
        return
    elif isinstance(value, datetime):
        evidence.dates.update({value.date(), value.astimezone(MX).date(),
                               value.astimezone(UTC).date()})
        evidence.times.update({value.astimezone(MX).time().replace(second=0, microsecond=0),
                               value.astimezone(UTC).time().replace(second=0, microsecond=0)})
    elif isinstance(value, date):
        evidence.dates.add(value)
    elif isinstance(value, time):
        evidence.times.add(value.replace(second=0, microsecond=0))
    elif isinstance(value, str):
        _text_facts(value, key, evidence, product)
    elif isinstance(value, int | Decimal | float):
        _number_fact(Decimal(str(value)), key, evidence, product, isinstance(value, int))


def _number_fact(number: Decimal, key: str | None, evidence: Evidence,
                 product: ProductFacts | None, whole: bool) -> None:
    if key in PRICE_FIELDS:
        evidence.prices.add(number.quantize(CENT))
        if product is not None:
            product.prices.add(number.quantize(CENT))
    elif key in LIST_PRICE_FIELDS:
        evidence.list_prices.add(number.quantize(CENT))
        if product is not None:
            product.list_prices.add(number.quantize(CENT))
    elif key in PERCENT_FIELDS:
        evidence.percents.add(number.normalize())
    else:
        evidence.numbers.add(number)
        if key in STOCK_FIELDS and whole:
            evidence.stock.add(int(number))


def _text_facts(value: str, key: str | None, evidence: Evidence,
                product: ProductFacts | None) -> None:
    evidence.identifiers.add(value.upper())
    if product is not None and key in NAME_FIELDS and len(value) >= 3:
        product.names.add(fold_word(value))
        if key == "brand":
            product.brand = fold_word(value)
    for match in _TIME.finditer(value):
        evidence.times.add(time(int(match["h"]), int(match["m"])))
    for mention in find_numbers(value):
        before = value[max(0, mention.start - 3):mention.start]
        after = value[mention.end:mention.end + 8]
        if _MONEY_IN_TEXT.search(before) or _MONEY_IN_TEXT.match(after.strip() or "-"):
            evidence.store_money.update(v.quantize(CENT) for v in mention.values)
        elif _PERCENT_AFTER.match(after):
            evidence.percents.update(v.normalize() for v in mention.values)
        else:
            evidence.numbers.update(mention.values)
