"""The e-mail sink: HTML + plain-text alerts over SMTP (aiosmtplib), at most once per key.

Uses the same durable ledger as WhatsApp (`topllantas.sent_messages`, channel "email"). The
Message-ID is derived from the idempotency key, so a receiving system can also recognise a
resend. SMTP 4xx replies and connection failures before the message was handed over are
retried with backoff; 5xx replies fail the message (dead-lettered by the glue); a connection
lost after the data was sent leaves the outcome unknown and is never resent automatically.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import aiosmtplib

from schemas.commands import MessageResult, OutboundMessage
from schemas.settings import Settings
from sinks.backoff import Backoff
from sinks.delivery import Attempt, deliver
from sinks.message_ledger import MessageLedger

log = logging.getLogger(__name__)

CHANNEL = "email"


def build_email(msg: OutboundMessage, sender: str) -> EmailMessage:
    """A multipart/alternative message (the text part first, the HTML part preferred), inside a
    multipart/mixed one with the attachments when there are any."""
    if not msg.subject or not (msg.text or msg.html):
        raise ValueError("an e-mail needs a subject and a text or HTML body")
    email = EmailMessage()
    email["From"] = sender
    email["To"] = msg.to
    email["Subject"] = msg.subject
    email["Date"] = format_datetime(msg.issued_at.astimezone(UTC))
    email["Message-ID"] = message_id(msg.idempotency_key, sender)
    email.set_content(msg.text or "Este mensaje requiere un cliente de correo con HTML.")
    if msg.html:
        email.add_alternative(msg.html, subtype="html")
    for attachment in msg.attachments:
        maintype, _, subtype = attachment.mime_type.partition("/")
        email.add_attachment(base64.b64decode(attachment.content_b64, validate=True),
                             maintype=maintype, subtype=subtype or "octet-stream",
                             filename=attachment.filename)
    return email


def message_id(idempotency_key: str, sender: str) -> str:
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"<{digest}@{sender.rpartition('@')[2] or 'topllantas.mx'}>"


class EmailSender:
    """Build with `EmailSender.from_settings(settings, ledger)`; `await send(msg)`."""

    def __init__(self, host: str, port: int, sender: str, ledger: MessageLedger, *,
                 username: str | None = None, password: str | None = None,
                 backoff: Backoff | None = None, timeout_s: float = 10.0) -> None:
        self._host = host
        self._port = port
        self._sender = sender
        self._ledger = ledger
        self._username = username
        self._password = password
        self._backoff = backoff or Backoff(base_s=0.5, cap_s=30.0, give_up_after_s=900.0)
        self._timeout_s = timeout_s

    @classmethod
    def from_settings(cls, settings: Settings, ledger: MessageLedger,
                      **kwargs: Any) -> EmailSender:
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        return cls(settings.smtp_host, settings.smtp_port, settings.smtp_from, ledger,
                   username=settings.smtp_user, password=password, **kwargs)

    def __repr__(self) -> str:
        return f"EmailSender({self._host}:{self._port})"

    async def send(self, msg: OutboundMessage) -> MessageResult:
        key = msg.idempotency_key
        claim = await self._ledger.claim(key, CHANNEL, msg.to)
        if not claim.acquired:
            status = "failed" if claim.newly_unknown else "duplicate"
            return _result(msg, status, claim.provider_message_id, claim.error)
        try:
            return await self._deliver(msg)
        finally:
            self._ledger.let_go(key)

    async def _deliver(self, msg: OutboundMessage) -> MessageResult:
        try:
            email = build_email(msg, self._sender)
        except ValueError as exc:  # binascii.Error of a bad attachment too
            return await self._fail(msg, f"invalid e-mail: {exc}")

        async def try_once() -> Attempt:
            try:
                await self._submit(email, msg.to)
            except OutcomeUnknown as exc:
                return Attempt("unknown", str(exc))
            except aiosmtplib.SMTPResponseException as exc:
                reason = f"SMTP {exc.code}: {exc.message}"
                return Attempt("retry" if 400 <= exc.code < 500 else "failed", reason)
            except (aiosmtplib.SMTPException, OSError) as exc:
                return Attempt("retry", f"{type(exc).__name__}: {exc}")
            return Attempt("sent", email["Message-ID"])

        outcome = await deliver(self._ledger, msg.idempotency_key, self._backoff, try_once,
                                "e-mail")
        if outcome.kind == "sent":
            return _result(msg, "sent", outcome.detail, None)
        return _result(msg, "failed", None, outcome.detail)

    async def _submit(self, email: EmailMessage, recipient: str) -> None:
        """Hand the message to the SMTP server; only a failure during DATA is ambiguous."""
        smtp = aiosmtplib.SMTP(hostname=self._host, port=self._port, timeout=self._timeout_s)
        await smtp.connect()
        try:
            if self._username:
                await smtp.login(self._username, self._password or "")
            await smtp.mail(self._sender)
            await smtp.rcpt(recipient)
            try:
                await smtp.data(email.as_bytes())
            except aiosmtplib.SMTPResponseException:
                raise  # the server answered: definite
            except (aiosmtplib.SMTPException, OSError) as exc:
                raise OutcomeUnknown(f"{type(exc).__name__} during DATA") from exc
        finally:
            if smtp.is_connected:
                try:
                    await smtp.quit()
                except (aiosmtplib.SMTPException, OSError):
                    smtp.close()

    async def _fail(self, msg: OutboundMessage, reason: str) -> MessageResult:
        await self._ledger.record_failed(msg.idempotency_key, reason)
        return _result(msg, "failed", None, reason)


class OutcomeUnknown(Exception):
    """The connection failed while the server had the message: it may have been accepted."""


def _result(msg: OutboundMessage, status: str, message_id: str | None,
            error: str | None) -> MessageResult:
    return MessageResult(idempotency_key=msg.idempotency_key, channel=CHANNEL, to=msg.to,
                         status=status, provider_message_id=message_id, error=error,
                         at=datetime.now(UTC))
