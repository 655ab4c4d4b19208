"""The grounding guard: figures in a reply must come from this turn's tool results."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from processors.sales_agent.guard import check_reply, collect_evidence
from processors.sales_agent.tool_results import (
    DeliverySlotResult,
    OrderStatusResult,
    SearchTiresResult,
    TireOption,
)


def _search() -> SearchTiresResult:
    option = TireOption(
        product_id=1, sku="MIC-205516-0100S", brand="Michelin", brand_tier="premium",
        model="Primacy 4", tire_size="205/55R16", load_index=91, speed_index="V",
        list_price=Decimal("2009.00"), discount_pct=Decimal("8"), price=Decimal("1848.28"),
        qty=4, total=Decimal("7393.12"), warehouse_id=1, branch="Sucursal Monterrey Centro",
        stock_at_branch=14, stock_total=30)
    return SearchTiresResult(outcome="options", sizes=["205/55R16"], qty=4, tier="taller",
                             options=[option], valid_until=date(2026, 11, 27))


EVIDENCE = collect_evidence([_search()])


@pytest.mark.parametrize("text", [
    "La Michelin Primacy 4 queda en $1,848.28 c/u, total $7,393.12.",
    "Precio lista $2,009, con 8 % de descuento por ser taller.",
    "MXN 1,848.28 por llanta",
    "7393.12 pesos por las 4",
    "Disponibles en Sucursal Monterrey Centro: 14",
    "Hay 30 disponibles en total; tenemos 4 llantas listas.",
    "SKU MIC-205516-0100S, válido hasta el viernes 27 de noviembre (27/11/2026).",
    "Medida 205/55R16, atención 24/7.",
])
def test_grounded_replies_pass(text: str) -> None:
    assert check_reply(text, EVIDENCE) == []


@pytest.mark.parametrize(("text", "kind"), [
    ("Te la dejo en $1,850", "price"),
    ("Quedan en 1850 pesos", "price"),
    ("MXN 1,850.00 cada una", "price"),
    ("precio especial 1,500 MXN", "price"),
    ("te sale en 2 mil pesos", "price"),
    ("$999 c/u", "price"),
    ("1700 c/u", "price"),
    ("¡Quedan 50 disponibles!", "stock"),
    ("Stock: 3", "stock"),
    ("hay 9 piezas", "stock"),
    ("El SKU es MIC-999999-0100S", "sku"),
    ("Te las entregamos el 3 de diciembre", "date"),
    ("válido hasta 2026-12-01", "date"),
    ("lo tienes el 02/12", "date"),
    ("te aplico 90 % de descuento", "discount"),
    ("con un descuento del 15%", "discount"),
])
def test_invented_figures_are_caught(text: str, kind: str) -> None:
    violations = check_reply(text, EVIDENCE)
    assert [v.kind for v in violations] == [kind], violations


def test_a_budget_or_argument_is_no_evidence_for_a_price() -> None:
    """Only price fields count: a number the customer typed cannot become a price."""
    assert check_reply("Te quedan en $500", collect_evidence([])) != []
    search = _search().model_copy(update={"qty": 500})
    assert [v.kind for v in check_reply("$500 c/u", collect_evidence([search]))] == ["price"]


def test_datetimes_count_in_local_and_utc_dates() -> None:
    status = OrderStatusResult(order_id=1000123, status="confirmado",
                               created_at=datetime(2026, 11, 20, 3, 0, tzinfo=UTC),
                               needs_delivery=True,
                               eta_start=datetime(2026, 11, 26, 3, 30, tzinfo=UTC))
    evidence = collect_evidence([status])
    assert check_reply("Llega el 25 de noviembre (hora de CDMX) o 26/11 UTC", evidence) == []


def test_delivery_slot_date_is_evidence() -> None:
    slot = DeliverySlotResult(mode="pickup", date=date(2026, 11, 25),
                              window_start=datetime(2026, 1, 1, 11).time(),
                              window_end=datetime(2026, 1, 1, 19).time())
    assert check_reply("Recógelas el miércoles 25 de noviembre", collect_evidence([slot])) == []
