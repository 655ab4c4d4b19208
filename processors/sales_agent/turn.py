"""One customer message in, the agent's outputs out: the function the Faust agent calls.

`run_turn(state, inbound, reader, now=..., llm=...)` returns a `TurnOutcome`: the new state for
the table, the replies for `messages.outbound`, an optional `CreateSalesOrder` for
`erp.commands`, and whether a human should take over. The LLM is optional and injected; when it
is missing, unavailable or fails the grounding guard twice, the deterministic dialog answers.
"""

from __future__ import annotations

import logging
from datetime import datetime
from time import perf_counter
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from processors.sales_agent import dialog, replies
from processors.sales_agent.catalog import CatalogReader
from processors.sales_agent.guard import Evidence, Violation, check_reply
from processors.sales_agent.media import MediaReader, location_reply, read_media
from processors.sales_agent.replies import Reply
from processors.sales_agent.session import ToolError, TurnSession
from processors.sales_agent.state import ConversationState, LastOutputs
from processors.sales_agent.tool_args import NearestBranchArgs
from processors.sales_agent.tool_results import NearestBranchResult
from processors.sales_agent.understanding import (
    Intent,
    Understanding,
    understand,
    understand_button,
)
from schemas.commands import CreateSalesOrder, OutboundMessage, RescheduleDelivery
from schemas.whatsapp import InboundMessage, Location

log = logging.getLogger(__name__)

INTERACTIVE_BODY_MAX = 1024  # WhatsApp limit on the text of a message with buttons

TurnPath = Literal["llm", "deterministic", "template_fallback", "human", "duplicate",
                   "no_reply"]


class GuardVerdict(BaseModel):
    """The grounding guard's verdict on one candidate reply of the turn."""

    source: Literal["llm", "llm_regenerated", "template", "safe"]
    passed: bool
    violations: list[Violation] = Field(default_factory=list)


class LlmAnswer(BaseModel):
    text: str | None  # None: the answer failed the grounding guard twice
    violations: list[Violation] = Field(default_factory=list)
    verdicts: list[GuardVerdict] = Field(default_factory=list)
    regenerated: bool = False
    llm_s: float = 0.0
    calls: int = 0


class LlmUnavailable(Exception):  # noqa: N818 - reads as a state, like TimeoutError's peers
    """No usable answer from the LLM (no endpoint, 429, timeout, 5xx, tool loop)."""

    def __init__(self, reason: str, llm_s: float = 0.0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.llm_s = llm_s


class LlmResponder(Protocol):
    def available(self) -> bool:
        """False while the endpoint is known to be down (the caller goes deterministic)."""
        ...

    async def answer(self, session: TurnSession) -> LlmAnswer:
        """Run the model with tools on `session`; raise LlmUnavailable when it cannot."""
        ...


class TurnOutcome(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    state: ConversationState
    replies: list[OutboundMessage]
    order: CreateSalesOrder | None = None
    reschedule: RescheduleDelivery | None = None
    handoff: bool = False
    handoff_reason: str | None = None
    injection: bool = False  # a prompt injection was recognised in the message (counted)
    path: TurnPath
    fallback_reason: str | None = None
    violations: list[Violation] = Field(default_factory=list)
    guard_verdicts: list[GuardVerdict] = Field(default_factory=list)
    evidence: Evidence | None = Field(None, exclude=True)  # what the sent text was checked on
    tool_calls: list[str] = Field(default_factory=list)
    llm_calls: int = 0
    llm_s: float = 0.0
    tools_s: float = 0.0
    total_s: float = 0.0

    @property
    def commands(self) -> list[CreateSalesOrder | RescheduleDelivery]:
        """What this turn sends to `erp.commands`."""
        return [c for c in (self.order, self.reschedule) if c is not None]

    @property
    def overhead_s(self) -> float:
        """Our own time in the turn: everything but waiting for the LLM."""
        return self.total_s - self.llm_s


async def run_turn(state: ConversationState | None, inbound: InboundMessage,
                   reader: CatalogReader, *, now: datetime, llm: LlmResponder | None = None,
                   media: MediaReader | None = None) -> TurnOutcome:
    started = perf_counter()
    state = state or ConversationState(phone=inbound.from_phone)
    if inbound.message_id in state.handled_message_ids:
        return _duplicate(state, inbound, started)
    seen = await read_media(inbound, media)
    if seen.silent:  # a reaction: noted (a redelivery stays silent), never answered
        return TurnOutcome(state=state.noted(inbound.message_id), replies=[], path="no_reply",
                           total_s=perf_counter() - started)
    text = seen.text or ""
    understanding = (understand_button(inbound.button_id) if inbound.button_id
                     else understand(text))
    state = state.received(inbound.message_id, text or f"[{inbound.kind}]", inbound.sent_at, now)
    if state.handoff_active(now):
        return TurnOutcome(state=state, replies=[], handoff=True,
                           handoff_reason=state.handoff_reason, path="human",
                           total_s=perf_counter() - started)

    session = _session(state, reader, now, inbound.message_id, understanding)
    await session.identify_customer()
    known = session.state
    path: TurnPath = "deterministic"
    fallback_reason: str | None = None
    answer = LlmAnswer(text=None)
    reply: Reply | None = seen.reply
    if reply is None and inbound.location is not None and not seen.text:
        reply = await _location_reply(session, inbound.location)
    elif reply is None and llm is not None:
        answer, path, fallback_reason, reply = await _llm_reply(llm, session, inbound)
    tools_s, dropped = 0.0, []
    if reply is None:
        if session.records or session.state is not known:
            # The LLM's partial work is dropped: the deterministic dialog starts over from the
            # state as it was, so what the customer reads always matches the state kept.
            tools_s, dropped = session.tools_s, [f"{r.name} (dropped)" for r in session.records]
            session = _session(known, reader, now, inbound.message_id, understanding)
        reply = await dialog.respond(session, understanding)
    tools_s += session.tools_s

    evidence = session.evidence()
    verdicts = [*answer.verdicts]
    reply = _guarded(reply, evidence, "llm" if path == "llm" else "template", verdicts)

    final = session.state.with_turn("agent", reply.text, now)
    messages = _outbound(inbound, reply, now, path)
    final = final.with_outputs(LastOutputs(message_id=inbound.message_id, replies=messages,
                                            order=session.order,
                                            reschedule=session.reschedule))
    handoff = final.handoff_active(now)
    return TurnOutcome(
        state=final, replies=messages, order=session.order, reschedule=session.reschedule,
        handoff=handoff, injection=understanding.injection,
        handoff_reason=final.handoff_reason if handoff else None, path=path,
        fallback_reason=fallback_reason, violations=answer.violations,
        guard_verdicts=verdicts, evidence=evidence,
        tool_calls=dropped + [r.name for r in session.records], llm_calls=answer.calls,
        llm_s=answer.llm_s, tools_s=tools_s, total_s=perf_counter() - started)


async def _llm_reply(llm: LlmResponder, session: TurnSession, inbound: InboundMessage
                     ) -> tuple[LlmAnswer, TurnPath, str | None, Reply | None]:
    """The LLM's answer (path "llm"), the templated one when it failed the guard twice, or
    None (the deterministic dialog answers) when the LLM is resting or unavailable."""
    if not llm.available():
        return LlmAnswer(text=None), "deterministic", "llm_paused", None
    try:
        answer = await llm.answer(session)
    except LlmUnavailable as exc:
        log.warning("sales agent: LLM unavailable (%s) for %s; deterministic answer",
                    exc.reason, inbound.message_id)
        return LlmAnswer(text=None, llm_s=exc.llm_s), "deterministic", exc.reason, None
    rendered = replies.render_results(session)
    if answer.text is not None:
        return answer, "llm", None, Reply(text=answer.text,
                                          buttons=rendered.buttons if rendered else [])
    log.warning("sales agent: LLM answer failed the guard twice for %s (%s); templated answer",
                inbound.message_id, "; ".join(v.text for v in answer.violations))
    return answer, "template_fallback", "guard", rendered


async def _location_reply(session: TurnSession, location: Location) -> Reply:
    try:
        found = await session.run(NearestBranchArgs(latitude=location.latitude,
                                                    longitude=location.longitude))
    except ToolError:
        return replies.ask_what()
    assert isinstance(found, NearestBranchResult)
    return location_reply(found)


def _guarded(reply: Reply, evidence: Evidence, source: Literal["llm", "template"],
             verdicts: list[GuardVerdict]) -> Reply:
    """The reply to send: `reply` if the guard passes it, else the safe reply. Every reply this
    turn sends is checked here, whatever produced it, and the verdicts are kept."""
    violations = check_reply(reply.text, evidence)
    verdicts.append(GuardVerdict(source=source, passed=not violations, violations=violations))
    if not violations:
        return reply
    log.error("sales agent: %s reply failed the guard (%s); sent a safe reply", source,
              "; ".join(v.text for v in violations))
    safe = replies.not_understood()
    safe_violations = check_reply(safe.text, evidence)
    verdicts.append(GuardVerdict(source="safe", passed=not safe_violations,
                                 violations=safe_violations))
    if safe_violations:  # a figure in the fixed safe text: a bug, never sent
        raise AssertionError(f"the safe reply fails the guard: {safe_violations}")
    return safe


def _session(state: ConversationState, reader: CatalogReader, now: datetime, message_id: str,
             understanding: Understanding) -> TurnSession:
    confirmed = understanding.intent is Intent.CONFIRM
    return TurnSession(state, reader, now=now, message_id=message_id,
                       customer_confirmed=confirmed)


def _duplicate(state: ConversationState, inbound: InboundMessage, started: float
               ) -> TurnOutcome:
    """A redelivered message: re-emit what it produced (same idempotency keys), nothing more."""
    outputs = state.outputs_of(inbound.message_id)
    return TurnOutcome(state=state, replies=outputs.replies if outputs else [],
                       order=outputs.order if outputs else None,
                       reschedule=outputs.reschedule if outputs else None, path="duplicate",
                       total_s=perf_counter() - started)


def _outbound(inbound: InboundMessage, reply: Reply, now: datetime, path: TurnPath
              ) -> list[OutboundMessage]:
    context = {"conversation": inbound.from_phone, "in_reply_to": inbound.message_id,
               "path": path}
    parts: list[tuple[str, list]] = [(reply.text, list(reply.buttons))]
    if reply.buttons and len(reply.text) > INTERACTIVE_BODY_MAX:
        parts = [(reply.text, []), ("¿Cuál eliges?", list(reply.buttons))]
    return [OutboundMessage(idempotency_key=f"wa-reply:{inbound.message_id}:{i}",
                            to=inbound.from_phone, text=text, buttons=buttons, context=context,
                            issued_at=now)
            for i, (text, buttons) in enumerate(parts)]
