"""Sink agents: `erp.commands` into the ERP, `messages.outbound` to WhatsApp, `messages.email`
to the mail server.

Thin glue around `sinks/`: decode, apply, then route each result to its results topic (and a
failed one to the dead-letter topic). Offsets are acknowledged only after a batch was applied
(`apply_in_batches`), so a stop part-way through a batch redelivers it, a bug met in a batch
dead-letters the records whose outcome was not out yet (`finished`), and the sinks' idempotency
ledgers absorb a repeat.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence

import faust
from pydantic import ValidationError

from schemas.commands import OutboundMessage
from schemas.settings import get_settings
from schemas.whatsapp import InboundMessage
from sinks.email import EmailSender
from sinks.erp.sink import ErpSink
from sinks.message_ledger import MessageLedger
from sinks.outcome import ConsumedRecord, decode_command, route_result
from sinks.whatsapp.sender import WhatsAppSender
from sinks.whatsapp.window import MappingCustomerWindow
from streams.app import app
from streams.dead_letters import apply_in_batches, dead_letter, decoded, finished
from streams.messages import email_messages, whatsapp_messages
from streams.metrics import EVENTS
from streams.topics import raw_topic

log = logging.getLogger("topllantas.sinks")

erp_commands = raw_topic("erp.commands")
inbound = raw_topic("whatsapp.inbound")
TOPICS = {t.get_topic_name(): t for t in (
    raw_topic("erp.commands.results"), raw_topic("messages.status"))}

# Last inbound message per customer phone (the 24-hour window). Co-partitioned: both
# `whatsapp.inbound` and `messages.outbound` are keyed by the phone.
whatsapp_window = app.Table("whatsapp_window", default=None)
Sender = WhatsAppSender | EmailSender
ERP_SINK_EVENTS = EVENTS.labels(agent="erp_sink")
MESSAGE_SINK_EVENTS = EVENTS.labels(agent="message_sink")


def _record(event) -> ConsumedRecord:  # type: ignore[no-untyped-def]
    msg = event.message
    return ConsumedRecord(msg.topic, msg.partition, msg.offset, msg.key, msg.value,
                          list(msg.headers or []))


async def _produce(outgoing) -> None:  # type: ignore[no-untyped-def]
    for out in outgoing:
        topic = TOPICS.get(out.topic) or app.topic(
            out.topic, key_type=bytes, value_type=bytes, key_serializer="raw",
            value_serializer="raw")
        await topic.send(key=out.key, value=out.value, headers=out.headers)


@app.agent(erp_commands)
async def apply_erp_commands(stream):  # type: ignore[no-untyped-def]
    """Batches of commands, one ERP transaction per batch."""
    async with ErpSink.from_settings(get_settings()) as sink:

        async def apply(events: Sequence[faust.EventT]) -> None:
            good, applied = [], []
            for event in events:
                try:
                    good.append(decode_command(event.value))
                    applied.append(event)
                except (ValidationError, ValueError) as exc:
                    await dead_letter(event, exc, "erp_sink.decode")
            if not good:
                return
            for result, event in zip(await sink.apply_batch(good), applied, strict=True):
                await _produce(route_result(result, _record(event), "erp.commands.results",
                                            "erp_sink"))
                finished(event)
            ERP_SINK_EVENTS.inc(len(good))

        await apply_in_batches(stream, 500, 0.05, apply, "erp_sink")


@app.agent(whatsapp_messages)
async def send_messages(stream):  # type: ignore[no-untyped-def]
    """WhatsApp; recipients in parallel, each recipient's messages in order. (E-mails found
    here, written before `messages.email` existed or replayed from this topic's dead letters,
    are still sent.)"""
    settings = get_settings()
    async with MessageLedger.from_settings(settings) as ledger:
        whatsapp = WhatsAppSender.from_settings(settings, ledger,
                                                MappingCustomerWindow(whatsapp_window))
        email = EmailSender.from_settings(settings, ledger)
        try:
            await _send_batches(stream, {"whatsapp": whatsapp, "email": email}, "message_sink")
        finally:
            await whatsapp.close()


@app.agent(email_messages)
async def send_emails(stream):  # type: ignore[no-untyped-def]
    """E-mail, apart from WhatsApp: a mail server that is down holds only e-mails."""
    settings = get_settings()
    async with MessageLedger.from_settings(settings) as ledger:
        await _send_batches(stream, {"email": EmailSender.from_settings(settings, ledger)},
                            "email_sink")


async def _send_batches(stream, senders: dict[str, Sender],  # type: ignore[no-untyped-def]
                        stage: str) -> None:
    """Recipients in parallel, each recipient's messages in order."""

    async def apply(events: Sequence[faust.EventT]) -> None:
        by_recipient: dict[bytes | None, list[faust.EventT]] = defaultdict(list)
        for event in events:
            by_recipient[event.message.key].append(event)
        outcomes = await asyncio.gather(
            *(_send_in_order(b, senders) for b in by_recipient.values()), return_exceptions=True)
        for outcome in outcomes:  # raised once every recipient's sends are over, none orphaned
            if isinstance(outcome, BaseException):
                raise outcome

    await apply_in_batches(stream, 100, 0.02, apply, stage)


async def _send_in_order(events: list, senders: dict[str, Sender]) -> None:  # type: ignore[type-arg]
    for event in events:
        try:
            msg = OutboundMessage.model_validate_json(event.value)
            sender = senders.get(msg.channel)
            if sender is None:
                raise ValueError(f"a {msg.channel} message on {event.message.topic}, "
                                 f"whose sink sends {', '.join(senders)}")
        except (ValidationError, ValueError) as exc:
            await dead_letter(event, exc, "messages.decode")
            continue
        result = await sender.send(msg)
        await _produce(route_result(result, _record(event), "messages.status",
                                    f"{msg.channel}_sink"))
        finished(event)
        MESSAGE_SINK_EVENTS.inc()


@app.agent(inbound)
async def track_customer_windows(stream):  # type: ignore[no-untyped-def]
    """Every inbound message opens (or extends) that customer's 24-hour window."""
    async for event in stream.events():
        message = await decoded(event, "whatsapp_window", InboundMessage.model_validate_json)
        if message is None:
            continue
        previous = whatsapp_window.get(message.from_phone)
        sent = message.sent_at.timestamp()
        if previous is None or sent > previous:
            whatsapp_window[message.from_phone] = sent
