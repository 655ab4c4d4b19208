"""The WhatsApp sales agent: one conversation per customer phone, in a Faust table.

`whatsapp.inbound` and `agent.control` are keyed by the phone and co-partitioned, so each
conversation lives on exactly one worker and moves with its partition. A worker answers its
customers at the same time (`AGENT_CONCURRENCY` turns at once), each customer's messages one
after another, and commits a record only once it and every record before it on its partition
were handled (streams/ordered_lanes.py). Replies go to
`messages.outbound`, reservations to `erp.commands`, handoffs to the sales team by e-mail
(`messages.email`).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import asyncpg
from faust.web import Request, Response, View
from pydantic import ValidationError

from processors.sales_agent.handoff import handoff_email
from processors.sales_agent.state import ConversationState
from processors.sales_agent.understanding import warm_up
from schemas.commands import CommandEnvelope
from schemas.settings import get_settings
from schemas.whatsapp import AgentControl, InboundMessage
from sources.erp_reader import ErpReader
from streams.app import app, catalogue
from streams.dead_letters import dead_letter
from streams.messages import send_message
from streams.metrics import AGENT_INJECTIONS as INJECTIONS
from streams.metrics import AGENT_TURNS as TURNS
from streams.metrics import LLM_FALLBACKS as FALLBACKS
from streams.metrics import LLM_SECONDS, TURN_SECONDS
from streams.openai_client import SalesAgent
from streams.ordered_lanes import OrderedLanes
from streams.topics import raw_source, raw_topic

log = logging.getLogger("topllantas.sales_agent")

source = raw_source("whatsapp.inbound", "agent.control")
commands = raw_topic("erp.commands")
control = raw_topic("agent.control")
conversations = app.Table("conversations", default=None,
                          partitions=catalogue["whatsapp.inbound"].partitions)
DRAIN_S = 30.0  # a stopping agent waits this long for the turns under way


@app.agent(source)
async def converse(stream):  # type: ignore[no-untyped-def]
    """Customers at the same time, each customer's messages in order (`OrderedLanes`, keyed by
    the phone: both topics' key). A turn waiting on the model holds no other customer."""
    settings = get_settings()
    await asyncio.to_thread(warm_up)  # the classifier's fit, before the first customer
    reader = await ErpReader.connect(settings.erp_reader_dsn())
    agent = SalesAgent.from_settings(settings, reader)

    async def handle(event) -> None:  # type: ignore[no-untyped-def]
        try:
            if event.message.topic == "agent.control":
                _release(AgentControl.model_validate_json(event.value))
                return
            inbound = InboundMessage.model_validate_json(event.value)
        except ValidationError as exc:
            await dead_letter(event, exc, "sales_agent.decode")
            return
        if await _retrying(reader.is_buyer, inbound.from_phone):
            return  # the buyer loop answers buyers
        await _turn(agent, inbound, settings.sales_team_email)

    lanes = OrderedLanes(handle, concurrency=settings.agent_concurrency,
                         max_pending=settings.agent_max_pending, stage="sales_agent")
    try:
        async for event in stream.events():
            await lanes.submit(event)
    finally:
        await lanes.drain(DRAIN_S)
        await agent.aclose()
        await reader.close()


async def _turn(agent: SalesAgent, inbound: InboundMessage, sales_team: str) -> None:
    stored = conversations.get(inbound.from_phone)
    state = ConversationState.model_validate(stored) if stored else None
    was_handed_off = bool(state and state.handoff)
    outcome = await _retrying(agent.handle, state, inbound)
    conversations[inbound.from_phone] = outcome.state.model_dump(mode="json")
    for reply in outcome.replies:
        await send_message(reply)
    for command in outcome.commands:  # a reservation, a rescheduled delivery
        await commands.send(key=f"so:{inbound.from_phone}".encode(),
                            value=CommandEnvelope(command=command).model_dump_json().encode())
    if outcome.handoff and not was_handed_off:
        mail = handoff_email(outcome.state, outcome.handoff_reason, sales_team,
                             inbound.message_id, datetime.now(UTC))
        await send_message(mail)
    TURNS.labels(path=outcome.path).inc()
    if outcome.injection:
        INJECTIONS.inc()
    if outcome.fallback_reason:
        FALLBACKS.labels(reason=outcome.fallback_reason).inc()
    LLM_SECONDS.observe(outcome.llm_s)
    TURN_SECONDS.observe(outcome.total_s)


def _release(command: AgentControl) -> None:
    stored = conversations.get(command.phone)
    if stored:
        state = ConversationState.model_validate(stored)
        conversations[command.phone] = state.model_copy(
            update={"handoff": False, "handoff_reason": None, "handoff_at": None,
                    "unknown_streak": 0}).model_dump(mode="json")
        log.info("conversation %s released by %s", command.phone[-4:], command.by)


async def _retrying(call, *args, attempts: int = 5):  # type: ignore[no-untyped-def]
    """ERP reads fail while the ERP restarts: back off instead of losing the message."""
    delay = 0.5
    for attempt in range(attempts):
        try:
            return await call(*args)
        except (asyncpg.PostgresConnectionError, OSError, asyncpg.CannotConnectNowError):
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(delay)
            delay *= 2


@app.page("/agent/release/{phone}/")
class ReleaseConversation(View):
    """POST: a person hands the conversation back to the bot (bearer DASHBOARD_TOKEN, checked
    by streams/web_access.py like every page)."""

    async def post(self, request: Request, phone: str) -> Response:
        command = AgentControl(phone=phone, by="dashboard", at=datetime.now(UTC))
        await control.send(key=phone.encode(), value=command.model_dump_json().encode())
        return self.json({"released": phone})
