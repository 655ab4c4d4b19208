"""The deterministic dialog: from intent and slots to tool calls and a templated reply.

It runs when no LLM is configured or the LLM is unavailable, and it is the fallback when an LLM
answer fails the grounding guard. Tools go through the same `TurnSession` as the LLM's.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from decimal import Decimal

from processors.sales_agent import delivery, replies
from processors.sales_agent.handoff import handoff_reason
from processors.sales_agent.intents.taxonomy import HANDOFF_REASONS
from processors.sales_agent.replies import Reply
from processors.sales_agent.session import ToolError, TurnSession
from processors.sales_agent.state import OfferedOption, RescheduleOffer, SearchContext
from processors.sales_agent.tool_args import (
    CreateQuoteArgs,
    DeliverySlotArgs,
    FaqArgs,
    HandoffArgs,
    OrderStatusArgs,
    RescheduleDeliveryArgs,
    ReserveOrderArgs,
    SearchTiresArgs,
    ToolArgs,
)
from processors.sales_agent.understanding import Intent, Slots, Understanding
from processors.sales_agent.vehicles import Vehicle

log = logging.getLogger(__name__)

UNKNOWN_BEFORE_HANDOFF = 3


async def respond(session: TurnSession, understanding: Understanding) -> Reply:
    """Run the tools this message needs and build the reply; updates `session.state`."""
    intent, slots = understanding.intent, understanding.slots
    state = session.state
    if intent is Intent.UNKNOWN and slots.year and state.search.vehicle \
            and state.search.vehicle.year is None:
        intent = Intent.QUOTE  # "es 2020", answering "¿de qué año es tu Jetta?"
    if state.reschedule_offer is not None and slots.day is not None and intent in (
            Intent.UNKNOWN, Intent.CONFIRM, Intent.CHOOSE_OPTION, Intent.FAQ, Intent.DECLINE,
            Intent.THANKS):
        intent = Intent.RESCHEDULE  # "el jueves", answering the days offered
    streak = state.unknown_streak + 1 if intent is Intent.UNKNOWN else 0
    session.state = state.model_copy(update={"unknown_streak": streak})
    if understanding.injection:
        log.warning("sales agent: prompt injection from %s recognised; safe reply",
                    state.phone[-4:])
    reply = await _respond(session, intent, slots)
    if understanding.greeted and intent is not Intent.GREETING:
        hello = replies.hello(session.state)
        reply = reply.model_copy(update={"text": f"{hello} Con gusto te ayudo.\n{reply.text}"})
    return reply


async def _respond(session: TurnSession, intent: Intent, slots: Slots) -> Reply:
    state = session.state
    if intent is Intent.RESCHEDULE:
        return await _reschedule(session, slots)
    if intent in HANDOFF_REASONS:
        # Reschedule, invoice, fleet prices, "a person please": a person with the context.
        await _run(session, HandoffArgs(reason=handoff_reason(intent, slots, state)))
        return replies.handoff_for(intent.value) if session.state.handoff else \
            replies.not_understood()
    if intent is Intent.INJECTION:
        return replies.injection_refused()
    if intent is Intent.ORDER_STATUS:
        if slots.order_id is None:
            return replies.ask_order_number()
        await _run(session, OrderStatusArgs(order_id=slots.order_id))
    elif intent is Intent.QUOTE and _named_offered(state.offered, slots) is None:
        args = _search_args(state.search, slots)
        if args is None:
            return replies.ask_what()
        await _run(session, args)
        await _extras(session, slots)
    elif intent in (Intent.CHOOSE_OPTION, Intent.QUOTE):
        option = _named_offered(state.offered, slots)
        if option is None:
            return replies.choose_first(state)
        await _run(session, CreateQuoteArgs(product_id=option.product_id,
                                            qty=slots.qty or state.search.qty,
                                            warehouse_id=option.warehouse_id))
        await _extras(session, slots)
    elif intent is Intent.CONFIRM:
        quote = state.quote
        if quote is None:
            return replies.choose_first(state)
        if slots.quote_ref and slots.quote_ref != quote.quote_id:
            return replies.stale_quote()
        reserved = await _run(session, ReserveOrderArgs(
            quote_id=quote.quote_id, needs_delivery=slots.fulfilment == "delivery"))
        if not reserved and "customer_unknown" in session.errors("reserve_order"):
            await _run(session, HandoffArgs(reason="cliente sin registro quiere apartar"))
    elif intent is Intent.FAQ:
        await _extras(session, slots)
    elif intent is Intent.DECLINE:
        if state.quote is not None and not state.quote.reserved:
            session.state = state.model_copy(update={"quote": None})
        return replies.declined()
    elif intent is Intent.DISCOUNT:
        return replies.discount_policy(state)
    elif intent is Intent.GREETING:
        return replies.greeting(state)
    elif intent is Intent.THANKS:
        return replies.thanks()
    elif state.unknown_streak >= UNKNOWN_BEFORE_HANDOFF:
        await _run(session, HandoffArgs(reason="el agente no entendió varios mensajes"))
    else:
        return replies.not_understood()
    return replies.render_results(session) or replies.not_understood()


async def _reschedule(session: TurnSession, slots: Slots) -> Reply:
    """Offer the days the route planner can still meet, or move the delivery to the one the
    customer picked (the tool writes the change for `erp.commands`; routes re-plan from it).
    A delivery that cannot move (on its way, delivered) goes to a person with the context."""
    offer = session.state.reschedule_offer
    order_id = slots.order_id or (offer.order_id if offer else None)
    if order_id is None:
        return replies.ask_order_number()
    day = slots.new_date
    if day is None and offer is not None and offer.order_id == order_id:
        day = _offered_day(offer, slots.day, delivery.local_date(session.now))
    if await _run(session, RescheduleDeliveryArgs(order_id=order_id, date=day)) or (
            "day_unavailable" in session.errors("reschedule_delivery")
            and await _run(session, RescheduleDeliveryArgs(order_id=order_id))):
        return replies.render_results(session) or replies.not_understood()
    codes = session.errors("reschedule_delivery")
    if "customer_unknown" in codes or "order_not_found" in codes:
        return replies.refusal("order_status", codes[-1], order_id)
    await _run(session, HandoffArgs(reason=handoff_reason(
        Intent.RESCHEDULE, slots.model_copy(update={"order_id": order_id}), session.state)))
    return replies.handoff_for(Intent.RESCHEDULE.value)


def _offered_day(offer: RescheduleOffer, said: tuple[str, int] | None, today: date
                 ) -> date | None:
    """The offered day the customer named ("el jueves", "mañana", "el 9"), if it is one."""
    if said is None:
        return None
    kind, value = said
    for day in offer.days:
        if (kind == "weekday" and day.weekday() == value
                or kind == "ahead" and day == today + timedelta(days=value)
                or kind == "month_day" and day.day == value):
            return day
    return None


async def _run(session: TurnSession, args: ToolArgs) -> bool:
    try:
        await session.run(args)
    except ToolError:
        return False
    return True


async def _extras(session: TurnSession, slots: Slots) -> None:
    """Answer the side question of a message: pickup/delivery time or a policy."""
    if slots.faq_topic == "delivery" and (session.state.quote or slots.fulfilment):
        await _run(session, DeliverySlotArgs(mode=slots.fulfilment or "delivery"))
    elif slots.faq_topic is not None:
        await _run(session, FaqArgs(topic=slots.faq_topic))


def _named_offered(offered: list[OfferedOption], slots: Slots) -> OfferedOption | None:
    """The offered option the message points at: by number, by attribute ("la más barata": the
    options are listed best first, cheapest last), or by brand when no new search."""
    if slots.option is not None:
        return next((o for o in offered if o.number == slots.option), None)
    if slots.option_rank is not None and offered:
        index = {"best": 0, "middle": len(offered) // 2}.get(slots.option_rank, -1)
        return offered[index]
    if slots.brand and not slots.size and not (slots.vehicle and slots.vehicle.model):
        return next((o for o in offered if o.brand == slots.brand), None)
    return None


def _search_args(context: SearchContext, slots: Slots) -> SearchTiresArgs | None:
    """This message's search, completed from what the customer said before."""
    new_vehicle = slots.vehicle if slots.vehicle and slots.vehicle.model else None
    fresh = slots.size is not None or new_vehicle is not None
    size = slots.size or (None if new_vehicle else context.size)
    vehicle = new_vehicle or (None if slots.size else context.vehicle)
    if vehicle is not None and vehicle.year is None and slots.year:
        vehicle = Vehicle(make=vehicle.make, model=vehicle.model, year=slots.year)
    if size is None and vehicle is None:
        return None
    qty = slots.qty or context.qty
    budget: Decimal | None = slots.budget
    if budget is not None and slots.budget_is_total:
        budget = (budget / qty).quantize(Decimal("0.01"))
    if budget is None and not fresh:
        budget = context.budget_per_tire
    return SearchTiresArgs(
        size=str(size) if size else None,
        vehicle_make=vehicle.make if vehicle and not size else None,
        vehicle_model=vehicle.model if vehicle and not size else None,
        vehicle_year=vehicle.year if vehicle and not size else None,
        brand=slots.brand or (None if fresh else context.brand), max_price_per_tire=budget,
        qty=qty)
