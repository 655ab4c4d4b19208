"""Intent and slots of the deterministic path; the evaluation set as a regression gate."""

from __future__ import annotations

from decimal import Decimal

import pytest

from processors.sales_agent.brands import find_brand
from processors.sales_agent.evaluation import (
    EvalCase,
    evaluate_deterministic,
    load_eval_set,
)
from processors.sales_agent.text import fold
from processors.sales_agent.understanding import Intent, understand, understand_button


def test_eval_set_is_large_and_accurate() -> None:
    cases = load_eval_set()
    report = evaluate_deterministic(cases)
    assert report.cases == len(cases) >= 60
    assert report.exact_accuracy >= 0.9, [(f.text, f.got, f.slot_errors)
                                          for f in report.failures]


def test_evaluation_counts_false_positive_slots() -> None:
    report = evaluate_deterministic([EvalCase(text="205/55R16 4 llantas", intent=Intent.QUOTE,
                                              slots={"size": "205/55R16"})])
    assert report.intent_accuracy == 1.0
    assert report.exact_accuracy == 0.0  # qty=4 was found but not expected
    assert "qty" in report.failures[0].slot_errors[0]


def test_seed_message() -> None:
    u = understand("Hola, necesito 4 llantas para Jetta 2020, ¿cuánto cuesta?")
    assert u.intent is Intent.QUOTE and u.greeted
    assert u.slots.qty == 4
    assert (u.slots.vehicle.make, u.slots.vehicle.model, u.slots.vehicle.year) == (  # type: ignore[union-attr]
        "Volkswagen", "Jetta", 2020)


@pytest.mark.parametrize(("text", "brand"), [
    ("michellin", "Michelin"), ("Michelín", "Michelin"), ("brigestone", "Bridgestone"),
    ("bridgeston", "Bridgestone"), ("good year", "Goodyear"), ("pirely", "Pirelli"),
    ("continetal", "Continental"), ("BF Goodrich", "BFGoodrich"), ("toyo", "Toyo"),
    ("general tire", "General Tire"),
])
def test_brand_spellings(text: str, brand: str) -> None:
    assert find_brand(fold(text)) == brand


@pytest.mark.parametrize("text", ["toyota", "en general", "primera", "continuar", "tornillo"])
def test_not_brands(text: str) -> None:
    assert find_brand(fold(text)) is None


@pytest.mark.parametrize(("text", "qty"), [
    ("4 llantas", 4), ("un juego", 4), ("un par de llantas", 2), ("dos llantas", 2),
    ("una llanta", 1), ("205/55 r16 llantas", None), ("x4", 4),
])
def test_quantities(text: str, qty: int | None) -> None:
    assert understand(text).slots.qty == qty


def test_budget_total_is_flagged() -> None:
    slots = understand("205/55r16 presupuesto de 8 mil en total").slots
    assert slots.budget == Decimal(8000) and slots.budget_is_total


def test_si_with_a_question_is_not_a_confirmation() -> None:
    assert understand("si tienen michelin?").intent is Intent.QUOTE
    assert understand("ya no las quiero, cancela").intent is Intent.DECLINE
    assert understand("ok gracias").intent is Intent.THANKS


def test_buttons() -> None:
    assert understand_button("opt:2").slots.option == 2
    confirm = understand_button("confirm:Q-0A1B2C3D")
    assert confirm.intent is Intent.CONFIRM and confirm.slots.quote_ref == "Q-0A1B2C3D"
    assert understand_button("human").intent is Intent.HANDOFF
    assert understand_button("something-else").intent is Intent.UNKNOWN
