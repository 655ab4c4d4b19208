"""Approvals of one supplier and branch within a day join one draft order."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from processors.inventory.consolidation import (
    DraftOrder,
    OrderLine,
    OrderTerms,
    join,
    join_reply,
)

MICHELIN = OrderTerms(1, "Michelin México", Decimal("25000.00"), Decimal("60000.00"))
NAMES = {1: "Monterrey", 2: "Guadalajara"}
NOON = datetime(2026, 12, 5, 18, 0, tzinfo=UTC)  # 12:00 in Mexico City


def line(n: int, qty: int = 4, cost: str = "1500.00") -> OrderLine:
    return OrderLine(f"a{n}", 100 + n, f"205/55R16 #{n}", qty, Decimal(cost))


def test_three_approvals_in_a_day_are_one_order_of_three_lines() -> None:
    order = None
    for n in range(3):
        result = join(order, line(n), warehouse_id=1, terms=MICHELIN,
                      now=NOON + timedelta(hours=n))
        order = result.order
    assert order is not None
    assert order.key == "po:1:1:2026-12-05"
    assert [x.alert_id for x in order.lines] == ["a0", "a1", "a2"]
    assert order.total == Decimal("18000.00")
    reply = join_reply(result, MICHELIN, NAMES)
    assert reply.startswith("✅ Agregué 205/55R16 #2 (4 pzas, $6,000.00) al pedido borrador "
                            "po:1:1:2026-12-05 de Michelin México para Monterrey del 5 dic: "
                            "3 líneas, $18,000.00.")
    assert "• 205/55R16 #0: 4 pzas, $6,000.00" in reply


def test_below_the_minimum_the_reply_proposes_topping_up() -> None:
    candidates = [line(7, 2, "900.00"), line(8, 4, "1000.00"), line(9, 8, "1000.00")]
    result = join(None, line(0, 8, "2000.00"), warehouse_id=1, terms=MICHELIN, now=NOON,
                  candidates=candidates)
    assert result.missing_to_minimum == Decimal("9000.00")
    assert [x.alert_id for x in result.top_up] == ["a7", "a8", "a9"]  # 1,800 + 4,000 + 8,000
    reply = join_reply(result, MICHELIN, NAMES)
    assert "⚠️ Aún no llega al mínimo de Michelin México ($25,000.00): faltan $9,000.00." in reply
    assert "te propongo agregar: 205/55R16 #7 (2 pzas, $1,800.00), 205/55R16 #8" in reply
    assert "«aprobar todo Michelin México»" in reply and "faltarían" not in reply
    short = join(None, line(0, 8, "2000.00"), warehouse_id=1, terms=MICHELIN, now=NOON,
                 candidates=candidates[:1])
    assert "(aun así faltarían $7,200.00)." in join_reply(short, MICHELIN, NAMES)
    assert "🚚 Faltan $44,000.00 para flete gratis ($60,000.00)." in reply


def test_top_up_stops_once_the_minimum_is_met_and_skips_lines_in_the_order() -> None:
    order = join(None, line(0, 8, "2000.00"), warehouse_id=1, terms=MICHELIN, now=NOON).order
    result = join(order, line(1, 4, "2000.00"), warehouse_id=1, terms=MICHELIN, now=NOON,
                  candidates=[line(0, 8, "2000.00"), line(5, 4, "2000.00"),
                              line(6, 4, "2000.00")])
    assert result.missing_to_minimum == Decimal("1000.00")
    assert [x.alert_id for x in result.top_up] == ["a5"]


def test_reaching_minimum_and_free_freight() -> None:
    result = join(None, line(0, 40, "1600.00"), warehouse_id=1, terms=MICHELIN, now=NOON)
    reply = join_reply(result, MICHELIN, NAMES)
    assert result.missing_to_minimum == 0 and result.top_up == ()
    assert "Cumple el mínimo de Michelin México ($25,000.00)." in reply
    assert reply.endswith("🚚 Con este pedido el flete va gratis.")


def test_the_same_approval_twice_is_one_line() -> None:
    first = join(None, line(0), warehouse_id=1, terms=MICHELIN, now=NOON)
    again = join(first.order, line(0), warehouse_id=1, terms=MICHELIN, now=NOON)
    assert again.duplicate and again.order == first.order
    assert join_reply(again, MICHELIN, NAMES).startswith("Ya estaba 205/55R16 #0")


def test_another_day_or_branch_starts_another_order() -> None:
    today = join(None, line(0), warehouse_id=1, terms=MICHELIN, now=NOON).order
    # 23:30 in Mexico City is still the same day; 00:30 is the next
    late = join(today, line(1), warehouse_id=1, terms=MICHELIN,
                now=datetime(2026, 12, 6, 5, 30, tzinfo=UTC)).order
    assert late.key == today.key and len(late.lines) == 2
    tomorrow = join(today, line(2), warehouse_id=1, terms=MICHELIN,
                    now=datetime(2026, 12, 6, 6, 30, tzinfo=UTC)).order
    assert tomorrow.key == "po:1:1:2026-12-06" and len(tomorrow.lines) == 1
    other_branch = join(today, line(3), warehouse_id=2, terms=MICHELIN, now=NOON).order
    assert other_branch.key == "po:1:2:2026-12-05" and len(other_branch.lines) == 1


def test_the_draft_serialises() -> None:
    order = join(None, line(0, 3, "1234.56"), warehouse_id=1, terms=MICHELIN, now=NOON).order
    assert DraftOrder.from_dict(json.loads(json.dumps(order.to_dict()))) == order
    assert order.lines[0].key == "pol:a0"


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        join(None, line(0), warehouse_id=1, terms=MICHELIN, now=datetime(2026, 12, 5))
    with pytest.raises(ValueError, match="positive"):
        join(None, line(0, 0), warehouse_id=1, terms=MICHELIN, now=NOON)
