"""The slot's changes over PostgreSQL's streaming replication protocol (a walsender), as pgoutput
messages, and the acknowledgements that move the slot.

psycopg2 speaks the replication sub-protocol (XLogData framing, keepalives, standby status
updates); asyncpg and psycopg 3 do not. The walsender decodes WAL once, in its own process, while
we publish the previous batch: polling `pg_logical_slot_peek_binary_changes` and then
`pg_replication_slot_advance` decoded every change twice, with the publisher waiting on both.

Blocking calls: run it in a thread.
"""

from __future__ import annotations

import select
import time

import psycopg2
from psycopg2.extras import LogicalReplicationConnection, ReplicationCursor

from schemas.settings import Settings

IDLE_CONFIRM_S = 1.0
# The text output the converters read (sources/cdc/pgoutput.py), whatever the server's defaults
SESSION_SETTINGS = {"TimeZone": "UTC", "DateStyle": "ISO", "IntervalStyle": "postgres",
                    "extra_float_digits": "1"}
SESSION_OPTIONS = " ".join(f"-c {k}={v}" for k, v in SESSION_SETTINGS.items())


RECONNECT_FIRST_S, RECONNECT_MAX_S = 0.5, 30.0


def connection_lost(exc: psycopg2.Error) -> bool:
    """An error of the connection (the server restarted or went away: 'no COPY in progress',
    'terminating connection due to administrator command', a closed socket), after which
    streaming resumes from the slot; not an error of the request (a slot that does not exist)."""
    if isinstance(exc, psycopg2.OperationalError | psycopg2.InterfaceError):
        return True
    return type(exc) is psycopg2.DatabaseError and exc.pgcode is None  # libpq's own errors


class ReplicationStream:
    """START_REPLICATION on the CDC slot from its confirmed position; `read()` the next message."""

    def __init__(self, settings: Settings) -> None:
        self.conn = psycopg2.connect(
            settings.erp_dsn(), connection_factory=LogicalReplicationConnection,
            options=SESSION_OPTIONS, application_name="topllantas-cdc")
        self.cursor: ReplicationCursor = self.conn.cursor()
        self.cursor.start_replication(
            slot_name=settings.cdc_slot, decode=False, status_interval=1,
            options={"proto_version": "1", "publication_names": settings.cdc_publication})
        self.confirmed = 0
        self._last_idle_confirm = 0.0
        self._reply_requested = False

    def read(self) -> bytes | None:
        """The next pgoutput message, or None when none has arrived (never blocks)."""
        message = self.cursor.read_message()
        return None if message is None else message.payload

    def wait(self, timeout: float) -> None:
        select.select([self.cursor], [], [], timeout)

    def confirm(self, lsn: int) -> None:
        """Everything up to `lsn` is acknowledged by the broker: the slot may move there."""
        if lsn > self.confirmed:
            self.cursor.send_feedback(flush_lsn=lsn, force=True)
            self.confirmed = lsn

    def confirm_idle(self) -> None:
        """Nothing is pending: confirm up to what the walsender has decoded, so an idle slot (or
        one whose WAL holds only other tables' changes) never retains WAL. Once a second, ask
        for a keepalive (which carries the walsender's position), and confirm the one before."""
        now = time.monotonic()
        if now - self._last_idle_confirm < IDLE_CONFIRM_S:
            return
        self._last_idle_confirm = now
        if self._reply_requested:
            self.confirm(self.cursor.wal_end)
        self.cursor.send_feedback(reply=True)
        self._reply_requested = True

    def keep_alive(self) -> None:
        """A status update without moving the slot (while waiting on the broker), so the server
        does not drop the connection after `wal_sender_timeout`."""
        self.cursor.send_feedback(force=True)

    def close(self) -> None:
        self.conn.close()
