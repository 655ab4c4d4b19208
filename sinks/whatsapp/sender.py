"""The WhatsApp sink: one `OutboundMessage` in, one `MessageResult` out, at most once per key.

Decides free-form vs template from the customer's 24-hour window, falls back to the template when
Meta answers 131047 (re-engagement), and waits out throughput limits (HTTP 429, 130429, 131056)
and Meta-side errors (5xx) with a capped backoff instead of dropping the message. Every attempt is
recorded in the durable ledger first (see `sinks.message_ledger` for the at-most-once rule).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from schemas.commands import MessageResult, OutboundMessage
from schemas.settings import Settings
from sinks.backoff import Backoff
from sinks.delivery import Attempt, deliver
from sinks.message_ledger import Claim, MessageLedger
from sinks.whatsapp.client import WhatsAppClient
from sinks.whatsapp.errors import DeliveryUnknown, NotSent, WhatsAppApiError
from sinks.whatsapp.payloads import InvalidMessage, fallback_template_body, free_form_body
from sinks.whatsapp.window import CustomerWindow, window_open

log = logging.getLogger(__name__)

CHANNEL = "whatsapp"


class WhatsAppSender:
    """Build with `WhatsAppSender.from_settings(settings, ledger, window)`; `await send(msg)`.

    The caller owns `ledger` (started) and `window`; `close()` closes the HTTP client.
    `backoff.give_up_after_s` bounds how long a throttled message is retried before it is
    reported failed (and so dead-lettered, not dropped).
    """

    def __init__(self, client: WhatsAppClient, ledger: MessageLedger, window: CustomerWindow,
                 *, backoff: Backoff | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._client = client
        self._ledger = ledger
        self._window = window
        self._backoff = backoff or Backoff(base_s=0.5, cap_s=30.0, give_up_after_s=900.0)
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: Settings, ledger: MessageLedger, window: CustomerWindow,
                      **kwargs: Any) -> WhatsAppSender:
        return cls(WhatsAppClient.from_settings(settings), ledger, window, **kwargs)

    async def close(self) -> None:
        await self._client.close()

    async def send(self, msg: OutboundMessage) -> MessageResult:
        claim = await self._ledger.claim(msg.idempotency_key, CHANNEL, msg.to)
        if not claim.acquired:
            return self._settled(msg, claim)
        try:
            in_window = window_open(self._window.last_inbound(msg.to), self._clock())
            use_template = msg.text is None or not in_window
            try:
                body = fallback_template_body(msg) if use_template else free_form_body(msg)
            except InvalidMessage as exc:
                return await self._fail(msg, f"invalid message: {exc}", use_template=False)
            return await self._deliver(msg, body, use_template)
        finally:
            self._ledger.let_go(msg.idempotency_key)

    async def _deliver(self, msg: OutboundMessage, body: dict[str, Any],
                       used_template: bool) -> MessageResult:
        async def try_once() -> Attempt:
            nonlocal body, used_template
            template = used_template
            try:
                wamid = await self._client.send(body)
            except DeliveryUnknown as exc:
                return Attempt("unknown", str(exc), template)
            except NotSent as exc:
                return Attempt("retry", str(exc), template)
            except WhatsAppApiError as exc:
                if exc.reengagement and not template and msg.template:
                    log.info("message %s: outside the 24-hour window (131047), sending the "
                             "template instead", msg.idempotency_key)
                    body, used_template = fallback_template_body(msg), True
                    return Attempt("again", exc.describe(), True)
                kind = "retry" if exc.retryable else "failed"
                return Attempt(kind, exc.describe(), template, exc.retry_after_s or 0.0)
            return Attempt("sent", wamid, template)

        outcome = await deliver(self._ledger, msg.idempotency_key, self._backoff, try_once,
                                "message")
        if outcome.kind == "sent":
            return self._result(msg, "sent", outcome.used_template,
                                provider_message_id=outcome.detail)
        return self._result(msg, "failed", outcome.used_template, error=outcome.detail)

    async def _fail(self, msg: OutboundMessage, reason: str, use_template: bool) -> MessageResult:
        await self._ledger.record_failed(msg.idempotency_key, reason)
        return self._result(msg, "failed", use_template, error=reason)

    def _settled(self, msg: OutboundMessage, claim: Claim) -> MessageResult:
        if claim.newly_unknown:  # dead-letter it once, so someone looks at it
            return self._result(msg, "failed", claim.used_template, error=claim.error)
        return self._result(msg, "duplicate", claim.used_template,
                            provider_message_id=claim.provider_message_id, error=claim.error)

    def _result(self, msg: OutboundMessage, status: str, used_template: bool, *,
                provider_message_id: str | None = None, error: str | None = None
                ) -> MessageResult:
        return MessageResult(idempotency_key=msg.idempotency_key, channel=CHANNEL, to=msg.to,
                             status=status, provider_message_id=provider_message_id,
                             used_template=used_template, error=error, at=self._clock())
