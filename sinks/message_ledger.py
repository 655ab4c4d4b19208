"""The durable ledger of outbound messages (`topllantas.sent_messages`), shared by every channel.

Meta and SMTP servers do not deduplicate for us, so the claim is taken before the provider call
and settled after it. The ledger is what makes a message go out at most once per idempotency key,
across restarts and workers:

    claimed --mark_sending--> sending --record_sent--> sent
       ^                         |--hold (provider said "not accepted", will retry)--> claimed
       |                         |--record_failed (nothing went out)--> failed --claim--> claimed
       |                         '--record_unknown / lease expired--> unknown
       '-- claim takes over a `claimed` row whose owner stopped renewing its lease

A row left in `sending` by a process that died during the provider call may or may not have been
delivered. We choose at-most-once: such a row becomes `unknown`, the message is reported failed
(so it reaches the dead-letter topic, never silently dropped) and is not resent automatically.
An operator who checked the provider's log resends it with
`UPDATE topllantas.sent_messages SET status = 'failed' WHERE idempotency_key = ...` followed by
`topllantas dlq replay messages.outbound` (`messages.email` for an e-mail).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

import asyncpg

from schemas.settings import Settings
from sinks.backoff import Backoff
from sinks.db_errors import describe, is_transient

log = logging.getLogger(__name__)
T = TypeVar("T")

CLAIM = """
INSERT INTO topllantas.sent_messages AS m
    (idempotency_key, channel, recipient, status, claimed_by)
VALUES ($1, $2, $3, 'claimed', $4)
ON CONFLICT (idempotency_key) DO UPDATE SET
    status = 'claimed', claimed_by = EXCLUDED.claimed_by, claimed_at = now(),
    attempts = m.attempts + 1, error = NULL
WHERE m.status = 'failed'
   OR (m.status = 'claimed'
       AND (m.claimed_by = EXCLUDED.claimed_by OR m.claimed_at < now() - make_interval(secs => $5)))
RETURNING true
"""
EXPIRE_IN_FLIGHT = """
UPDATE topllantas.sent_messages
SET status = 'unknown',
    error = 'the worker that was sending it stopped during the provider call; not resent'
WHERE idempotency_key = $1 AND status = 'sending'
  AND claimed_at < now() - make_interval(secs => $2)
RETURNING true
"""
STATE = """
SELECT status, provider_message_id, used_template, error FROM topllantas.sent_messages
WHERE idempotency_key = $1
"""
MARK_SENDING = """
UPDATE topllantas.sent_messages SET status = 'sending', claimed_at = now()
WHERE idempotency_key = $1 AND claimed_by = $2
"""
HOLD = """
UPDATE topllantas.sent_messages SET status = 'claimed', claimed_at = now()
WHERE idempotency_key = $1 AND claimed_by = $2
"""
RECORD_SENT = """
UPDATE topllantas.sent_messages
SET status = 'sent', provider_message_id = $3, used_template = $4, sent_at = now(), error = NULL
WHERE idempotency_key = $1 AND claimed_by = $2
"""
RECORD_END = """
UPDATE topllantas.sent_messages SET status = $3, error = $4
WHERE idempotency_key = $1 AND claimed_by = $2
"""


@dataclass(frozen=True)
class Claim:
    """The outcome of `claim`: either ours to send, or already settled."""

    acquired: bool
    status: str = "claimed"
    provider_message_id: str | None = None
    used_template: bool = False
    error: str | None = None
    newly_unknown: bool = False  # this claim found a dead in-flight call and marked it unknown


class MessageLedger:
    """Claims and settles outbound messages; retries through ERP outages (never gives up).

    `owner` identifies this process's claims (a fresh id per instance); `lease_s` is how long a
    claim stays valid without renewal, so a crashed worker's claim is taken over after it.
    """

    def __init__(self, dsn: str, *, lease_s: float = 30.0, backoff: Backoff | None = None,
                 statement_timeout_s: float = 5.0, poll_s: float = 1.0) -> None:
        self.owner = uuid.uuid4().hex
        self.lease_s = lease_s
        self._dsn = dsn
        self._backoff = backoff or Backoff(base_s=0.2, cap_s=5.0)
        self._timeout_s = statement_timeout_s
        self._poll_s = poll_s
        self._pool: asyncpg.Pool | None = None
        self._working: set[str] = set()  # keys a coroutine of this process is sending now

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> MessageLedger:
        return cls(settings.erp_sink_dsn(), **kwargs)

    async def start(self) -> None:
        self._pool = await asyncpg.create_pool(
            self._dsn, min_size=0, max_size=2, timeout=self._timeout_s,
            command_timeout=self._timeout_s,
            server_settings={"application_name": "topllantas-message-ledger"})

    async def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool = None

    async def __aenter__(self) -> MessageLedger:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def claim(self, key: str, channel: str, recipient: str) -> Claim:
        """Take the key for sending, or report how it was settled.

        While another live worker holds the key (claimed or sending within its lease), wait:
        its outcome decides ours. A claim of this process that no coroutine works on any more
        (cancelled before the call) is taken back at once. Pair every acquired claim with
        `let_go`.
        """
        while True:
            if key in self._working:
                await asyncio.sleep(self._poll_s)
                continue
            if await self._call(lambda c: c.fetchval(CLAIM, key, channel, recipient, self.owner,
                                                     self.lease_s)):
                self._working.add(key)
                return Claim(acquired=True)
            expired = await self._call(lambda c: c.fetchval(EXPIRE_IN_FLIGHT, key, self.lease_s))
            row = await self._call(lambda c: c.fetchrow(STATE, key))
            if row is not None and row["status"] in ("sent", "unknown"):
                return Claim(acquired=False, status=row["status"],
                             provider_message_id=row["provider_message_id"],
                             used_template=row["used_template"], error=row["error"],
                             newly_unknown=bool(expired))
            await asyncio.sleep(self._poll_s)

    def let_go(self, key: str) -> None:
        """This process stops working on `key` (settled, or the coroutine was cancelled); the
        row keeps the state it reached."""
        self._working.discard(key)

    async def mark_sending(self, key: str) -> None:
        """Right before the provider call: from now on a crash leaves the outcome unknown."""
        await self._call(lambda c: c.execute(MARK_SENDING, key, self.owner))

    async def hold(self, key: str) -> None:
        """The provider did not accept it (or we are waiting): keep the claim, renew the lease."""
        await self._call(lambda c: c.execute(HOLD, key, self.owner))

    async def record_sent(self, key: str, provider_message_id: str, used_template: bool) -> None:
        await self._call(lambda c: c.execute(RECORD_SENT, key, self.owner, provider_message_id,
                                             used_template))

    async def record_failed(self, key: str, error: str) -> None:
        """Nothing went out: a later delivery (a dead-letter replay) may claim it again."""
        await self._call(lambda c: c.execute(RECORD_END, key, self.owner, "failed", error))

    async def record_unknown(self, key: str, error: str) -> None:
        """The call may have reached the provider: never resent automatically."""
        await self._call(lambda c: c.execute(RECORD_END, key, self.owner, "unknown", error))

    async def wait(self, key: str, seconds: float) -> None:
        """Sleep `seconds` while keeping the claim's lease alive."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            await asyncio.sleep(min(left, self.lease_s / 3))
            await self.hold(key)

    async def _call(self, op: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        if self._pool is None:
            raise RuntimeError("MessageLedger.start() was not awaited")
        attempt = 0
        while True:
            attempt += 1
            try:
                conn: asyncpg.Connection = await self._pool.acquire(timeout=self._timeout_s)
                try:
                    return await op(conn)
                except BaseException:
                    conn.terminate()  # it may be mid-protocol with a frozen server
                    raise
                finally:
                    await self._pool.release(conn)
            except Exception as exc:
                if not is_transient(exc):
                    raise
                delay = self._backoff.delay(attempt)
                log.warning("message ledger unavailable (%s); retrying in %.2f s",
                            describe(exc), delay)
                await asyncio.sleep(delay)
