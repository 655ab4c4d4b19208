"""The `reschedule_delivery` tool: the days offered, the change as an ERP command, refusals."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from processors.sales_agent import reschedule
from processors.sales_agent.guard import check_reply, collect_evidence
from processors.sales_agent.session import ToolError, TurnSession
from processors.sales_agent.state import ConversationState
from processors.sales_agent.tool_args import RescheduleDeliveryArgs
from processors.sales_agent.tool_results import RescheduleResult
from schemas.commands import CommandEnvelope
from schemas.erp import Delivery, SalesOrder
from tests.unit.test_agent_dialog import JOSE, NOW, MemoryCatalog


def _catalog(status: str = "asignada") -> MemoryCatalog:
    catalog = MemoryCatalog()
    order = SalesOrder(id=1000200, customer_id=7, warehouse_id=1, status="confirmado",
                       created_at=NOW, needs_delivery=True, delivery_date=date(2026, 11, 25))
    catalog.rows_orders[order.id] = (order, Delivery(id=2, sales_order_id=order.id,
                                                     route_date=order.delivery_date,
                                                     status=status))
    return catalog


async def _session(catalog: MemoryCatalog, message_id: str = "wamid.r1") -> TurnSession:
    session = TurnSession(ConversationState(phone=JOSE), catalog, now=NOW,
                          message_id=message_id, customer_confirmed=False)
    await session.identify_customer()
    return session


async def test_offers_days_the_planner_can_still_meet_then_reschedules() -> None:
    session = await _session(_catalog())
    offer = await session.run(RescheduleDeliveryArgs(order_id=1000200))
    assert isinstance(offer, RescheduleResult) and offer.outcome == "choose"
    days = [w.date for w in offer.windows]
    # Tuesday 24 Nov 2026: the order is on Wednesday 25; the next business days after it
    assert days == [date(2026, 11, 26), date(2026, 11, 27), date(2026, 11, 28)]
    assert session.reschedule is None
    assert session.state.reschedule_offer is not None
    text = reschedule.reply_text(offer, NOW.date())
    assert check_reply(text, collect_evidence(session.results())) == []
    assert [b.id for b in reschedule.reply_buttons(offer)][0] == "reschedule:1000200:2026-11-26"

    session = await _session(_catalog(), "wamid.r2")
    done = await session.run(RescheduleDeliveryArgs(order_id=1000200, date=date(2026, 11, 27)))
    assert isinstance(done, RescheduleResult) and done.outcome == "rescheduled"
    command = session.reschedule
    assert command is not None and command.delivery_date == date(2026, 11, 27)
    assert command.sales_order_id == 1000200 and command.customer_id == 7
    assert command.idempotency_key == "wa-reschedule:1000200:wamid.r2"
    CommandEnvelope.model_validate({"command": command.model_dump(mode="json")})
    text = reschedule.reply_text(done, NOW.date())
    assert "27 de noviembre" in text
    assert check_reply(text, collect_evidence(session.results())) == []


@pytest.mark.parametrize(("order_id", "day", "status", "code"), [
    (1000200, date(2026, 12, 25), "asignada", "day_unavailable"),  # not offered
    (1000200, NOW.date() + timedelta(days=1), "en_ruta", "not_reschedulable"),
    (1000123, None, "asignada", "not_reschedulable"),  # on its way (fixture)
    (999, None, "asignada", "order_not_found"),
])
async def test_refusals(order_id: int, day: date | None, status: str, code: str) -> None:
    session = await _session(_catalog(status))
    with pytest.raises(ToolError) as raised:
        await session.run(RescheduleDeliveryArgs(order_id=order_id, date=day))
    assert raised.value.code == code
    assert session.reschedule is None
