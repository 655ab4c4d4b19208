"""The grounding guard: every number in a reply must come from this turn's tool results.

`check_reply(text, evidence)` finds every number the reply states — digits with any separators,
decimals, "2 mil", numbers in words ("mil doscientos pesos"), percentages, amounts in any
currency — and returns a `Violation` for each one no tool result backs:

- money (a currency sign or word, a price word before it, "c/u"/"cada llanta" after it, two
  decimals) must be a customer price of the product the reply is talking about (the nearest
  product named before it on its line, else after it on its line, else before it in the reply);
  the list price counts only where the reply calls it the list price ("precio de lista");
  any currency other than pesos is never grounded (every result is in MXN);
- percentages must be the customer's tier discount; stock figures a stock field; dates and times
  a date or time of the results (or the store's hours); SKUs an identifier of the results;
- any other number must be a plain number of the results or of the customer's own message
  (quantity, order id, load index, a number in a store text), a list ordinal, or a year after a
  vehicle name. Tire sizes are allowed as written.

A reply with violations never reaches the customer as is (see `turn.run_turn`).
"""

from __future__ import annotations

import re
from datetime import date, time
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel

from processors.sales_agent.formatting import MONTHS, WEEKDAYS
from processors.sales_agent.guard_evidence import CENT, Evidence, collect_evidence
from processors.sales_agent.numbers_es import NumberMention, find_numbers, fold_word

__all__ = ["Evidence", "Violation", "check_reply", "collect_evidence"]

Span = tuple[int, int]
_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?"
_FOREIGN = (r"d[oó]lar(?:es)?|dlls?\.?|dls\.?|usd|us\$|u\$s|euros?|eur|€|quetzales|"
            r"pesos colombianos|pesos argentinos|cop|ars")
_FOREIGN_MONEY = [
    re.compile(rf"(?:us\$|u\$s|usd|€|eur)\s*(?P<n>{_NUM})", re.I),
    re.compile(rf"(?P<n>{_NUM})\s*(?:mil\s+)?(?:{_FOREIGN})(?![a-z])", re.I),
]
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
_WEEKDAY = "|".join(WEEKDAYS + ["miercoles", "sabado"])
_DATES = [
    re.compile(rf"\b(?P<d>\d{{1,2}})\s+de\s+(?P<m>{_MONTH})(?:\s+(?:de|del)\s+(?P<y>\d{{4}}))?",
               re.I),
    re.compile(r"(?<![\d/])(?P<d>\d{1,2})/(?P<m>\d{1,2})(?:/(?P<y>\d{2,4}))?(?![\d/])"),
    re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})\b"),
]
_WEEKDAY_DAY = re.compile(rf"\b(?P<w>{_WEEKDAY})\s+(?P<d>\d{{1,2}})\b", re.I)
_DISCOUNTS = [
    re.compile(r"(?P<n>\d{1,3}(?:[.,]\d+)?)\s*(?:%|por ciento)\s+(?:de\s+)?"
               r"(?:descuento|desc\b|off\b|menos\b|rebaja)", re.I),
    re.compile(r"(?:descuento|rebaja)\s+(?:del?\s+)?(?P<n>\d{1,3}(?:[.,]\d+)?)\s*"
               r"(?:%|por ciento)", re.I),
]
_TIME = re.compile(r"\b(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)\b(?:\s*(?P<pm>p\.?\s?m\.?))?", re.I)
_SIZES = re.compile(
    r"(?:\b(?:LT|P)\s?)?\b\d{3}\s?/\s?\d{2}\s?Z?R?\s?F?\d{2}(?:\s?\d{2,3}\s?[A-Z]\b)?"
    r"|\b[23]\d\s?[x×]\s?\d{1,2}(?:[.,]\d{1,2})?\s?R?\s?\d{2}(?:\s?LT)?\b"
    r"|\b[Rr](?:in)?\s?\d{2}\b|\b24/7\b", re.I)
_ORDINALS = re.compile(r"(?m)^\s*(?P<n>\d{1,2})[.)](?=\s)|\bopci[oó]n(?:es)?\s+(?P<o>\d{1,2})\b"
                       r"|\(\s*1\s+a\s+(?P<r>\d{1,2})\s*\)", re.I)
_MAX_ORDINAL = 10
_ORDINAL_REF = re.compile(r"(?m)^\s*(?P<n>\d{1,2})[.)](?=\s)|\bopci[oó]n\s+(?P<o>\d{1,2})\b", re.I)
_MONEY_BEFORE = re.compile(
    r"(?:\$|\bmxn|\bm\.n\.|\bmn)\s*$|\b(?:precios?|cuesta|cuestan|costo|cuestan?|vale|valen|"
    r"sale|salen|queda en|quedan en|quedaria|total(?:es)?|importe|pagas|pagar[ií]as?|pago|"
    r"monto|solo|solamente|desde|ahorras?|ahorro|oferta|promoci[oó]n|rebajad[ao]s?|"
    r"te la dejo|te las dejo)\b[^\d\n]{0,12}$", re.I)
_MONEY_AFTER = re.compile(
    r"\s*(?:pesos|mxn|mn\b|m\.n\.|c/u|cada\b|la pieza|por (?:llanta|pieza|unidad|las|los|"
    r"el juego)|el juego|\+\s*iva|m[aá]s iva|con iva|iva incluido|de contado)", re.I)
_QUANTITY_AFTER = re.compile(r"\s*(?:llantas?|piezas?|pzas?|unidades|neum[aá]ticos?|rines|"
                             r"d[ií]as?|horas?|minutos?|a[nñ]os?|meses|km|psi|semanas?)\b",
                             re.I)
_QUANTITY_BEFORE = re.compile(r"(?:\b(?:por|para|de)\s+)?\b(?:las|los)\s*$|(?:\bx|×)\s*$", re.I)
_FOREIGN_AFTER = re.compile(rf"\s*(?:mil\s+)?(?:{_FOREIGN})(?![a-z])", re.I)
_FOREIGN_BEFORE = re.compile(r"(?:us\$|u\$s|usd|€|eur)\s*$", re.I)
_PERCENT_AFTER = re.compile(r"\s*(?:%|por\s*ciento|porciento)", re.I)
_LIST_LABEL = re.compile(r"\blista\b", re.I)
_YEAR_BEFORE = re.compile(r"[A-Za-zÁÉÍÓÚáéíóú]{2,}\s+$")


class Violation(BaseModel):
    kind: Literal["price", "stock", "sku", "date", "discount", "time", "number"]
    text: str


def check_reply(text: str, evidence: Evidence) -> list[Violation]:
    """Everything in `text` that no tool result of this turn backs."""
    checker = _Checker(text, evidence)
    checker.foreign_money()
    checker.prices()
    checker.stock()
    checker.skus()
    checker.dates()
    checker.discounts()
    checker.times()
    checker.masks()
    checker.every_other_number()
    return checker.violations


class _Checker:
    def __init__(self, text: str, evidence: Evidence) -> None:
        self.text = text
        self.evidence = evidence
        self.violations: list[Violation] = []
        self.judged: list[Span] = []
        self.mentions = _product_mentions(text, evidence)

    def _judge(self, span: Span, ok: bool, kind: str, what: str) -> None:
        self.judged.append(span)
        if not ok:
            self.violations.append(Violation(kind=kind, text=what.strip()))  # type: ignore[arg-type]

    def _free(self, span: Span) -> bool:
        return not any(span[0] < end and start < span[1] for start, end in self.judged)

    def foreign_money(self) -> None:
        for pattern in _FOREIGN_MONEY:
            for match in pattern.finditer(self.text):
                if self._free(match.span()):
                    self._judge(match.span(), False, "price", match.group(0))

    def prices(self) -> None:
        for pattern in _PRICES:
            for match in pattern.finditer(self.text):
                if not self._free(match.span()):
                    continue
                mention = find_numbers(match["n"])
                values = mention[0].values if mention else frozenset()
                if match.groupdict().get("mil"):
                    values = frozenset(v * 1000 for v in values)
                ok = self._money_ok(values, match.start("n"))
                self._judge(match.span(), ok, "price", match.group(0))

    def stock(self) -> None:
        for pattern in _STOCK:
            for match in pattern.finditer(self.text):
                if self._free(match.span()):
                    ok = int(match["n"]) in self.evidence.stock
                    self._judge(match.span(), ok, "stock", match.group(0))

    def skus(self) -> None:
        spans: dict[str, list[Span]] = {}
        for match in _SKU.finditer(self.text):
            spans.setdefault(match.group(0), []).append(match.span())
        for match in _SKU_LABEL.finditer(self.text):
            spans.setdefault(match["s"], []).append(match.span("s"))
        for token, where in spans.items():
            ok = token.upper() in self.evidence.identifiers or len(token) < 6 \
                or _SIZES.fullmatch(token) is not None
            for span in where:
                if self._free(span):
                    self._judge(span, ok, "sku", token)
                    ok = True  # one violation per token

    def dates(self) -> None:
        for pattern in _DATES:
            for match in pattern.finditer(self.text):
                if self._free(match.span()) and match.group(0) != "24/7":
                    self._judge(match.span(), _date_backed(match, self.evidence.dates), "date",
                                match.group(0))
        for match in _WEEKDAY_DAY.finditer(self.text):
            if self._free(match.span("d")):
                weekday = _weekday(match["w"])
                ok = any(d.day == int(match["d"]) and d.weekday() == weekday
                         for d in self.evidence.dates)
                self._judge(match.span("d"), ok, "date", match.group(0))

    def discounts(self) -> None:
        for pattern in _DISCOUNTS:
            for match in pattern.finditer(self.text):
                if not self._free(match.span()):
                    continue
                values = find_numbers(match["n"])
                ok = bool(values) and any(v.normalize() in self.evidence.percents
                                          for v in values[0].values)
                self._judge(match.span(), ok, "discount", match.group(0))

    def times(self) -> None:
        for match in _TIME.finditer(self.text):
            if not self._free(match.span()):
                continue
            hour, minute = int(match["h"]), int(match["m"])
            candidates = {time(hour, minute)}
            if hour < 12 and (match["pm"] or hour < 8):
                candidates.add(time(hour + 12, minute))
            ok = bool(candidates & self.evidence.times)
            self._judge(match.span(), ok, "time", match.group(0))

    def masks(self) -> None:
        """Sizes, identifiers of the results and list ordinals: allowed as written."""
        for match in _SIZES.finditer(self.text):
            self.judged.append(match.span())
        for match in re.finditer(r"\b[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*\b", self.text):
            if match.group(0).upper() in self.evidence.identifiers and \
                    re.search(r"\d", match.group(0)) and re.search(r"[A-Za-z]", match.group(0)):
                self.judged.append(match.span())
        for match in _ORDINALS.finditer(self.text):
            group = next(g for g in ("n", "o", "r") if match[g] is not None)
            if int(match[group]) <= _MAX_ORDINAL:
                self.judged.append(match.span() if group == "r" else match.span(group))
        for mention in self.mentions:  # a number inside a product name ("Primacy 4")
            self.judged.append((mention[0], mention[1]))

    def every_other_number(self) -> None:
        for mention in find_numbers(self.text):
            span = (mention.start, mention.end)
            if not self._free(span):
                continue
            kind, ok = self._judge_number(mention)
            self._judge(span, ok, kind, self._context(mention))

    def _judge_number(self, mention: NumberMention) -> tuple[str, bool]:
        text = self.text
        before = text[max(0, mention.start - 30):mention.start]
        after = text[mention.end:mention.end + 24]
        if _FOREIGN_AFTER.match(after) or _FOREIGN_BEFORE.search(before):
            return "price", False
        if _PERCENT_AFTER.match(after):
            return "discount", any(v.normalize() in self.evidence.percents
                                   for v in mention.values)
        quantity = (_QUANTITY_AFTER.match(after) is not None
                    or _QUANTITY_BEFORE.search(before) is not None)
        money = not quantity and (
            _MONEY_BEFORE.search(before) is not None or _MONEY_AFTER.match(after) is not None
            or re.search(r"[.,]\d{2}$", mention.text) is not None)
        if money:
            return "price", self._money_ok(mention.values, mention.start)
        if any(v in self.evidence.numbers for v in mention.values):
            return "number", True
        if _is_year(mention) and _YEAR_BEFORE.search(before):
            return "number", True
        return "number", self._money_ok(mention.values, mention.start)

    def _money_ok(self, values: frozenset[Decimal], at: int) -> bool:
        """A customer price of the product the reply talks about at `at` (or of any product
        when it names none); a list price only where called one; an amount of a store text."""
        products = _attached(self.text, at, self.mentions, self.evidence)
        allowed = set(self.evidence.store_money)
        labelled = _LIST_LABEL.search(self.text[max(0, at - 30):at]) is not None
        for product in products:
            allowed |= product.prices | (product.list_prices if labelled else set())
        if not products:
            allowed |= self.evidence.prices | (self.evidence.list_prices if labelled else set())
        return any(v.quantize(CENT) in allowed for v in values if abs(v) < 10**12)

    def _context(self, mention: NumberMention) -> str:
        start = max(0, mention.start - 12)
        return self.text[start:mention.end + 12].replace("\n", " ")


Mention = tuple[int, int, frozenset[int]]  # span and the product ids it may name


def _product_mentions(text: str, evidence: Evidence) -> list[Mention]:
    """Where the reply names a product of the results: model, SKU, brand, option number."""
    folded = "".join(fold_word(ch) or ch for ch in text)  # same length as `text`
    if len(folded) != len(text):
        folded = text.lower()
    names: dict[str, set[int]] = {}
    for product in evidence.products.values():
        for name in product.names:
            names.setdefault(name, set()).add(product.product_id)
    found: list[Mention] = []
    for name, ids in names.items():
        for match in re.finditer(rf"(?<![\w]){re.escape(name)}(?![\w])", folded):
            found.append((match.start(), match.end(), frozenset(ids)))
    for match in _ORDINAL_REF.finditer(text):
        group = "n" if match["n"] is not None else "o"
        ids = {p.product_id for p in evidence.products.values()
               if int(match[group]) in p.ordinals}
        if ids:
            found.append((match.start(group), match.end(group), frozenset(ids)))
    # A longer name inside the same span wins (model over brand).
    found.sort(key=lambda m: (m[0], -(m[1] - m[0])))
    return found


def _attached(text: str, at: int, mentions: list[Mention], evidence: Evidence
              ) -> list:
    line_start = text.rfind("\n", 0, at) + 1
    line_end = text.find("\n", at)
    line_end = len(text) if line_end < 0 else line_end
    before = [m for m in mentions if line_start <= m[0] and m[1] <= at]
    after = [m for m in mentions if at <= m[0] and m[1] <= line_end]
    earlier = [m for m in mentions if m[1] <= at]
    chosen = (max(before, key=lambda m: m[1]) if before else
              min(after, key=lambda m: m[0]) if after else
              max(earlier, key=lambda m: m[1]) if earlier else None)
    if chosen is None:
        return []
    return [evidence.products[i] for i in chosen[2]]


def _is_year(mention: NumberMention) -> bool:
    return any(v == v.to_integral_value() and 1980 <= v <= 2035 for v in mention.values) \
        and mention.text.isdigit()


def _weekday(name: str) -> int:
    folded = fold_word(name)
    return [fold_word(w) for w in WEEKDAYS].index(folded)


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
