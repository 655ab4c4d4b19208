"""Customer prices: the tier discount table (the only source of discounts) and quote validity."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

Tier = Literal["publico", "taller", "flotilla", "mayorista"]

# Percent off list price per customer tier. Nothing else grants a discount.
TIER_DISCOUNT_PCT: dict[Tier, Decimal] = {
    "publico": Decimal("0"),
    "taller": Decimal("8"),
    "flotilla": Decimal("12"),
    "mayorista": Decimal("15"),
}
TIER_LABEL: dict[Tier, str] = {
    "publico": "Público", "taller": "Taller", "flotilla": "Flotilla", "mayorista": "Mayorista",
}
QUOTE_VALID_DAYS = 3
CENT = Decimal("0.01")


def discount_pct(tier: Tier) -> Decimal:
    return TIER_DISCOUNT_PCT[tier]


def unit_price(list_price: Decimal, tier: Tier) -> Decimal:
    """Price per tire for a customer of `tier`, rounded to the cent."""
    factor = (Decimal(100) - TIER_DISCOUNT_PCT[tier]) / Decimal(100)
    return (list_price * factor).quantize(CENT, rounding=ROUND_HALF_UP)


def line_total(price: Decimal, qty: int) -> Decimal:
    return (price * qty).quantize(CENT, rounding=ROUND_HALF_UP)


def quote_valid_until(today: date) -> date:
    return today + timedelta(days=QUOTE_VALID_DAYS)
