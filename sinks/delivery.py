"""The message sinks' send loop: claimed key → send → retry with backoff, at most once per key.

Both channels (sinks/email.py, sinks/whatsapp/sender.py) claim the message's idempotency key in
the durable ledger (sinks/message_ledger.py) and then call `deliver`, giving it one `try_once`
that sends and says what happened (`Attempt`). The loop owns the ledger steps around each try:
`mark_sending` before it (so a crash in flight is never resent), `record_sent` /
`record_failed` / `record_unknown` after it, and `hold` + `wait` between retries; retries back
off (`Backoff`) until `give_up_after_s`, after which the message is reported failed (and the
glue dead-letters it).

(A retry library such as tenacity was considered: the loop's waits, its give-up and its outcome
classes are all ledger steps, so it would take as many hooks as the loop has lines.)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from sinks.backoff import Backoff
from sinks.message_ledger import MessageLedger

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one try came to.

    - `sent`: accepted; `detail` is the provider's message id.
    - `failed`: a permanent refusal; `detail` is the reason.
    - `unknown`: the outcome cannot be known (the connection broke while sending): not resent.
    - `retry`: a transient refusal; retried after the backoff (at least `wait_floor_s`).
    - `again`: try again at once (the body changed, e.g. WhatsApp's template fallback).
    """

    kind: Literal["sent", "failed", "unknown", "retry", "again"]
    detail: str
    used_template: bool = False
    wait_floor_s: float = 0.0


async def deliver(ledger: MessageLedger, key: str, backoff: Backoff,
                  try_once: Callable[[], Awaitable[Attempt]], what: str) -> Attempt:
    """Try until sent, refused for good, unknown, or out of time; returns the final `Attempt`
    (`sent`, `failed` or `unknown`), already recorded in the ledger."""
    started = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        await ledger.mark_sending(key)
        outcome = await try_once()
        if outcome.kind == "sent":
            await ledger.record_sent(key, outcome.detail, outcome.used_template)
            return outcome
        if outcome.kind == "unknown":
            reason = f"outcome unknown, not resent (at-most-once): {outcome.detail}"
            await ledger.record_unknown(key, reason)
            return Attempt("unknown", reason, outcome.used_template)
        if outcome.kind == "failed":
            await ledger.record_failed(key, outcome.detail)
            return outcome
        await ledger.hold(key)
        if outcome.kind == "again":
            continue
        if backoff.exhausted(time.monotonic() - started):
            reason = f"gave up after {attempt} attempts: {outcome.detail}"
            await ledger.record_failed(key, reason)
            return Attempt("failed", reason, outcome.used_template)
        delay = backoff.delay(attempt, floor_s=outcome.wait_floor_s)
        log.warning("%s %s not accepted (%s); retrying in %.2f s (attempt %d)", what, key,
                    outcome.detail, delay, attempt)
        await ledger.wait(key, delay)
