"""The CDC replication slot and publication: create, check, measure, re-snapshot.

Rules (ARCHITECTURE.md): create the publication before the slot; confirm a position only after
the broker acknowledged (sources/cdc/replication.py); an invalidated slot (WAL removed) must
be dropped, recreated and re-snapshotted.
"""

from __future__ import annotations

import logging

import asyncpg

from schemas.settings import Settings
from sources.cdc.pgoutput import lsn_to_int

STATE_DDL = """
CREATE SCHEMA IF NOT EXISTS topllantas;
CREATE TABLE IF NOT EXISTS topllantas.cdc_snapshots (
    slot_name    text PRIMARY KEY,
    completed_at timestamptz NOT NULL DEFAULT now()
);
"""


log = logging.getLogger("topllantas.cdc")


class ReplicaIdentityRefused(RuntimeError):
    """A captured table lacks REPLICA IDENTITY FULL and CDC may not set it."""


class SlotInvalidated(RuntimeError):
    """The slot lost WAL it needed; changes were lost and a re-snapshot is required."""


IDENTITY_NAMES = {"d": "DEFAULT", "n": "NOTHING", "i": "USING INDEX", "f": "FULL"}


class SlotManager:
    def __init__(self, conn: asyncpg.Connection, settings: Settings, tables: list[str]) -> None:
        self.conn = conn
        self.slot = settings.cdc_slot
        self.publication = settings.cdc_publication
        self.schema = settings.cdc_schema
        self.tables = tables

    async def prepare(self) -> bool:
        """Ensure publication and slot; returns True when a snapshot must be taken."""
        await self.ensure_replica_identity()
        await self.conn.execute(STATE_DDL)
        await self._ensure_publication()
        await self.check_health()
        exists = await self.conn.fetchval(
            "SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", self.slot
        )
        done = await self.conn.fetchval(
            "SELECT 1 FROM topllantas.cdc_snapshots WHERE slot_name = $1", self.slot
        )
        if exists and done:
            return False
        if exists:  # a snapshot was interrupted: start over
            await self.drop()
        await self.conn.execute(
            "DELETE FROM topllantas.cdc_snapshots WHERE slot_name = $1", self.slot
        )
        await self.conn.execute(
            "SELECT pg_create_logical_replication_slot($1, 'pgoutput')", self.slot
        )
        return True

    async def ensure_replica_identity(self) -> None:
        """Every captured table logs whole old rows (REPLICA IDENTITY FULL): updates carry their
        before image and deletes the whole row. Sets it where this role may (logged); refuses
        to start, naming the tables, where it may not."""
        rows = await self.conn.fetch(
            "SELECT c.relname, c.relreplident::text FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = $1 AND c.relname = ANY($2::text[]) AND c.relreplident <> 'f' "
            "ORDER BY c.relname", self.schema, self.tables)
        refused = []
        for row in rows:
            table = f'{self.schema}."{row["relname"]}"'
            was = IDENTITY_NAMES.get(row["relreplident"], row["relreplident"])
            try:
                await self.conn.execute(f"ALTER TABLE {table} REPLICA IDENTITY FULL")
            except asyncpg.InsufficientPrivilegeError:
                refused.append(f"{self.schema}.{row['relname']} (REPLICA IDENTITY {was})")
                continue
            log.warning("set REPLICA IDENTITY FULL on %s (was %s): updates and deletes carry "
                        "the whole old row", table, was)
        if refused:
            raise ReplicaIdentityRefused(
                "CDC needs REPLICA IDENTITY FULL on every captured table and may not set it on "
                f"{', '.join(refused)}: as the tables' owner run `ALTER TABLE <table> REPLICA "
                "IDENTITY FULL` for each, then start CDC again.")

    async def _ensure_publication(self) -> None:
        names = ", ".join(f'{self.schema}."{t}"' for t in self.tables)
        exists = await self.conn.fetchval(
            "SELECT 1 FROM pg_publication WHERE pubname = $1", self.publication
        )
        if exists:
            await self.conn.execute(f"ALTER PUBLICATION {self.publication} SET TABLE {names}")
        else:
            await self.conn.execute(f"CREATE PUBLICATION {self.publication} FOR TABLE {names}")

    async def mark_snapshot_done(self) -> None:
        await self.conn.execute(
            "INSERT INTO topllantas.cdc_snapshots (slot_name) VALUES ($1) "
            "ON CONFLICT (slot_name) DO UPDATE SET completed_at = now()",
            self.slot,
        )

    async def check_health(self) -> None:
        row = await self.conn.fetchrow(
            "SELECT wal_status, invalidation_reason FROM pg_replication_slots WHERE slot_name = $1",
            self.slot,
        )
        if row and (row["wal_status"] == "lost" or row["invalidation_reason"]):
            raise SlotInvalidated(
                f"replication slot {self.slot!r} was invalidated "
                f"({row['invalidation_reason'] or row['wal_status']}): changes were lost. "
                "Run `topllantas cdc resnapshot` to drop it, recreate it and publish a fresh "
                "snapshot."
            )

    async def drop(self) -> None:
        await self.conn.execute(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
            "WHERE slot_name = $1",
            self.slot,
        )
        await self.conn.execute(
            "DELETE FROM topllantas.cdc_snapshots WHERE slot_name = $1", self.slot
        )

    async def confirmed_lsn(self) -> int:
        value = await self.conn.fetchval(
            "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1",
            self.slot,
        )
        return lsn_to_int(value) if value else 0

    async def lag_bytes(self) -> int:
        value = await self.conn.fetchval(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint "
            "FROM pg_replication_slots WHERE slot_name = $1",
            self.slot,
        )
        return int(value or 0)
