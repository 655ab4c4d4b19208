"""The e-mail sink against a loopback SMTP server (aiosmtpd) and the real ledger database."""

from __future__ import annotations

import email
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from ops.stack.processes import free_port
from schemas.commands import OutboundMessage
from sinks.backoff import Backoff
from sinks.email import EmailSender
from sinks.message_ledger import MessageLedger
from tests.stack_fixture import TestStack

pytestmark = pytest.mark.integration


class Mailbox:
    """Collects delivered mail; answers 451 to the next `busy` DATA commands."""

    def __init__(self) -> None:
        self.delivered: list[Message] = []
        self.busy = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.busy:
            self.busy -= 1
            return "451 4.3.0 Mailbox busy, try again later"
        self.delivered.append(email.message_from_bytes(envelope.original_content or b""))
        return "250 OK"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if address.startswith("nadie@"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield box, controller.port
    finally:
        controller.stop()


@pytest.fixture
async def ledger(stack: TestStack) -> AsyncIterator[MessageLedger]:
    async with MessageLedger(stack.sink_dsn) as running:
        yield running


def _alert(to: str = "compras@topllantas.mx") -> OutboundMessage:
    return OutboundMessage(
        idempotency_key=f"mail-{uuid.uuid4().hex}", channel="email", to=to,
        subject="Alerta de reorden: 205/55R16 Sucursal Puebla",
        text="Quedan 6 piezas; punto de reorden 18. Sugerido: 48 piezas.",
        html="<p>Quedan <b>6</b> piezas; punto de reorden 18.</p>", issued_at=datetime.now(UTC))


async def test_same_mail_three_times_is_delivered_once(
        mailbox: tuple[Mailbox, int], ledger: MessageLedger, stack: TestStack) -> None:
    box, port = mailbox
    settings = stack.settings(SMTP_PORT=port)
    sender = EmailSender.from_settings(settings, ledger, backoff=Backoff(base_s=0.05))
    msg = _alert()
    results = [await sender.send(msg) for _ in range(3)]
    assert [r.status for r in results] == ["sent", "duplicate", "duplicate"]
    assert len(box.delivered) == 1
    mail = box.delivered[0]
    assert mail["Message-ID"] == results[0].provider_message_id
    assert mail["From"] == settings.smtp_from and mail["To"] == "compras@topllantas.mx"
    assert mail.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in mail.get_payload()] == ["text/plain", "text/html"]


async def test_busy_server_is_retried_and_unknown_user_fails(
        mailbox: tuple[Mailbox, int], ledger: MessageLedger, stack: TestStack) -> None:
    box, port = mailbox
    sender = EmailSender.from_settings(stack.settings(SMTP_PORT=port), ledger,
                                       backoff=Backoff(base_s=0.05, cap_s=0.1))
    box.busy = 2
    retried = await sender.send(_alert())
    refused = await sender.send(_alert("nadie@topllantas.mx"))
    assert retried.status == "sent" and len(box.delivered) == 1
    assert refused.status == "failed" and "550" in (refused.error or "")
