"""CDC from the ERP's PostgreSQL onto Kafka: publication, slot, snapshot, then streaming
(the replication protocol, sources/cdc/replication.py).

At-least-once: events of a batch are produced and acknowledged by the broker before the slot
is confirmed past the batch's last COMMIT. A crash in between re-sends that window (counted as
duplicates downstream, absorbed by keyed tables and idempotent sinks).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson
import psycopg2
from confluent_kafka import KafkaException, Producer

from schemas.settings import Settings
from schemas.topics import Catalogue, load_catalogue
from sources.cdc import metrics
from sources.cdc.envelope import EnvelopeBuilder
from sources.cdc.pgoutput import Begin, Change, Commit, PgOutputDecoder, Truncate
from sources.cdc.replication import (
    RECONNECT_FIRST_S,
    RECONNECT_MAX_S,
    SESSION_SETTINGS,
    ReplicationStream,
    connection_lost,
)
from sources.cdc.slot import SlotManager
from sources.cdc.snapshot import table_rows
from transport.clients import confluent_producer_config
from transport.dlq import dead_letter_headers, dlq_topic

log = logging.getLogger("topllantas.cdc")
COMMIT = ord("C")  # pgoutput Commit message
NEW_KEY, OLD_KEY = "__debezium.newkey", "__debezium.oldkey"  # headers of a key change


class Unpublishable(ValueError):
    """A change whose values the change-event contract cannot carry: it is dead-lettered."""


class DeliveryFailed(RuntimeError):
    """The broker did not acknowledge every event of a batch; the batch is retried."""


@dataclass
class CdcStats:
    snapshot_rows: int = 0
    changes: int = 0
    batches: int = 0
    retries: int = 0
    dead_letters: int = 0
    reconnects: int = 0
    confirmed_lsn: int = 0
    started_at: float = field(default_factory=time.time)


class KafkaWriter:
    """Produces key/value pairs and waits until the broker acknowledged all of them."""

    def __init__(self, settings: Settings) -> None:
        # Delivery reports for failures only: a Python callback per acknowledged record cost
        # more CPU than decoding it; flush() still waits for every record's acknowledgement.
        self.producer = Producer(confluent_producer_config(
            settings, **{"delivery.report.only.error": True}))
        self.errors: list[str] = []

    def _on_delivery(self, err: object, _msg: object) -> None:
        if err is not None:
            self.errors.append(str(err))

    def produce(self, topic: str, key: bytes | None, value: bytes | None,
                partition: int | None = None,
                headers: list[tuple[str, bytes]] | None = None) -> None:
        """`partition` None: the partitioner hashes the key."""
        extra: dict[str, Any] = {} if partition is None else {"partition": partition}
        if headers:
            extra["headers"] = headers
        while True:
            try:
                self.producer.produce(topic, value=value, key=key, on_delivery=self._on_delivery,
                                      **extra)
                return
            except BufferError:
                self.producer.poll(0.05)

    def flush(self, timeout: float = 30.0) -> None:
        remaining = self.producer.flush(timeout)
        if remaining or self.errors:
            errors, self.errors = self.errors[:3], []
            raise DeliveryFailed(f"{remaining} unacknowledged, errors: {errors}")

    def close(self) -> None:
        self.producer.flush(10)


async def close_quietly(conn: asyncpg.Connection) -> None:
    try:
        await asyncio.wait_for(conn.close(), 5)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
        conn.terminate()


class CdcSource:
    def __init__(self, settings: Settings, catalogue: Catalogue | None = None,
                 on_batch: Callable[[int], None] | None = None) -> None:
        self.settings = settings
        self.catalogue = catalogue or load_catalogue()
        self.stats = CdcStats()
        self.on_batch = on_batch
        self.decoder = PgOutputDecoder()

    async def connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(
            self.settings.erp_dsn(),
            server_settings={**SESSION_SETTINGS, "application_name": "topllantas-cdc"})

    async def run(self, stop: asyncio.Event) -> CdcStats:
        conn = await self.connect()
        writer = KafkaWriter(self.settings)
        db = await conn.fetchval("SELECT current_database()")
        builder = EnvelopeBuilder(self.catalogue, db, self.catalogue.cdc_prefix)
        slots = SlotManager(conn, self.settings, list(self.catalogue.cdc_tables))
        try:
            if await slots.prepare():
                self.stats.snapshot_rows = await self._snapshot(conn, builder, writer)
                await slots.mark_snapshot_done()
            self.stats.confirmed_lsn = await slots.confirmed_lsn()
            await self._stream(slots, builder, writer, stop)
        finally:
            writer.close()
            await close_quietly(slots.conn)
        return self.stats

    # ------------------------------------------------------------------ snapshot
    async def _snapshot(self, conn: asyncpg.Connection, builder: EnvelopeBuilder,
                        writer: KafkaWriter) -> int:
        """Read every captured table in one REPEATABLE READ transaction as `op: r` events
        (history tables since CDC_SNAPSHOT_DAYS when that is set)."""
        total = 0
        tables = list(builder.tables)
        schema = self.catalogue.cdc_schema
        now_ms = int(time.time() * 1000)
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            for t_index, table in enumerate(tables):
                topic = builder.topic(table)
                assert topic is not None
                n = 0
                last_table = t_index == len(tables) - 1
                where, args = self._snapshot_filter(table)
                count = await conn.fetchval(
                    f'SELECT count(*) FROM {schema}."{table}" WHERE {where}', *args)
                async for row, error in table_rows(conn, schema, table, where, *args):
                    n += 1
                    marker = "last" if (last_table and n == count) else "true"
                    try:
                        if error is not None:
                            raise Unpublishable(error)
                        key, partition = builder.key(table, row), builder.partition(table, row)
                        value = builder.value(
                            op="r", table=table, schema=schema, before=None, after=row,
                            commit_ts_ms=now_ms, xid=None, lsn=None, snapshot=marker)
                    except (Unpublishable, KeyError, TypeError, ValueError) as exc:
                        self._dead_letter(writer, builder, topic, "r", table, None, row, exc,
                                          lsn=None)
                        continue
                    writer.produce(topic, key, value, partition)
                    if n % 20_000 == 0:
                        writer.producer.poll(0)
                total += n
                metrics.EVENTS.labels(table=table, op="r").inc(n)
                log.info("snapshot %s: %d rows", table, n)
        await asyncio.to_thread(writer.flush)
        return total

    def _snapshot_filter(self, table: str) -> tuple[str, tuple[Any, ...]]:
        """The rows of `table` a snapshot reads: all of them, or with CDC_SNAPSHOT_DAYS set, a
        history table's rows since then (its `snapshot_where` in topics.yaml)."""
        spec = self.catalogue.cdc_tables[table]
        days = self.settings.cdc_snapshot_days
        if days is None or spec.snapshot_where is None:
            return "TRUE", ()
        since = datetime.now(UTC) - timedelta(days=days)
        return f"({spec.snapshot_where.replace(':since', '$1')})", (since,)

    # ------------------------------------------------------------------ streaming
    async def _stream(self, slots: SlotManager, builder: EnvelopeBuilder, writer: KafkaWriter,
                      stop: asyncio.Event) -> None:
        """Replicate in a thread (blocking protocol); check the slot and its lag meanwhile."""
        done = threading.Event()
        worker = asyncio.ensure_future(asyncio.to_thread(self._replicate, builder, writer, done))
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not worker.done():
                await asyncio.wait([worker, stopping], timeout=2.0,
                                   return_when=asyncio.FIRST_COMPLETED)
                if stop.is_set() or worker.done():
                    break
                await self._check_slot(slots)
        finally:
            done.set()
            stopping.cancel()
            await asyncio.wait([worker])
        try:
            worker.result()
        except psycopg2.Error:
            await slots.check_health()  # an invalidated slot says so clearly
            raise

    async def _check_slot(self, slots: SlotManager) -> None:
        """Slot health and lag; a lost connection (PostgreSQL restarted) is opened again at the
        next check. An invalidated slot raises SlotInvalidated."""
        try:
            if slots.conn.is_closed():
                slots.conn = await self.connect()
            await slots.check_health()
            metrics.SLOT_LAG.set(await slots.lag_bytes())
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("slot check failed (%s); retrying", str(exc).strip())
            slots.conn.terminate()

    def _replicate(self, builder: EnvelopeBuilder, writer: KafkaWriter,
                   stop: threading.Event) -> None:
        """Stream from the slot until `stop`. A lost connection (PostgreSQL restarted, network)
        is opened again with backoff and streaming resumes from the slot's confirmed position:
        what was read but not confirmed is sent again (at-least-once)."""
        delay = RECONNECT_FIRST_S
        while not stop.is_set():
            try:
                stream = ReplicationStream(self.settings)
            except psycopg2.OperationalError as exc:
                self._connection_lost(exc, delay, stop)
                delay = min(delay * 2, RECONNECT_MAX_S)
                continue
            delay = RECONNECT_FIRST_S
            try:
                self._replicate_on(stream, builder, writer, stop)
            except psycopg2.Error as exc:
                if not connection_lost(exc):
                    raise
                self._connection_lost(exc, delay, stop)
            finally:
                stream.close()

    def _connection_lost(self, exc: psycopg2.Error, delay: float, stop: threading.Event
                         ) -> None:
        self.stats.reconnects += 1
        metrics.RECONNECTS.inc()
        reason = (str(exc).strip() or type(exc).__name__).splitlines()[0]
        log.warning("replication connection lost (%s); reconnecting in %.1fs and resuming from "
                    "the slot", reason, delay)
        stop.wait(delay)

    def _replicate_on(self, stream: ReplicationStream, builder: EnvelopeBuilder,
                      writer: KafkaWriter, stop: threading.Event) -> None:
        """Batches of whole transactions (cut at a COMMIT once `CDC_BATCH_ROWS` messages have
        arrived, or when no more are waiting): published, acknowledged, then confirmed."""
        interval = self.settings.cdc_poll_interval_ms / 1000
        batch_rows = self.settings.cdc_batch_rows
        rows: list[bytes] = []
        complete = 0  # rows[:complete] are whole transactions
        while not stop.is_set():
            payload = stream.read()
            if payload is not None:
                rows.append(payload)
                if payload[0] == COMMIT:
                    complete = len(rows)
                if complete < batch_rows:
                    continue  # read on while messages are waiting
            elif not complete:
                if not rows:
                    stream.confirm_idle()
                stream.wait(interval)
                continue
            self._ship(rows[:complete], builder, writer, stream, stop)
            rows, complete = rows[complete:], 0

    def _ship(self, rows: list[bytes], builder: EnvelopeBuilder, writer: KafkaWriter,
              stream: ReplicationStream, stop: threading.Event) -> None:
        t0 = time.perf_counter()
        gc.disable()  # a batch allocates ~100k short-lived dicts, all freed by refcount
        try:
            produced, end_lsn = self._publish(rows, builder, writer)
        finally:
            gc.enable()
        self._flush_with_retry(writer, rows, builder, stream, stop)
        if end_lsn:
            stream.confirm(end_lsn)
            self.stats.confirmed_lsn = end_lsn
        self.stats.changes += produced
        self.stats.batches += 1
        metrics.BATCH_SECONDS.observe(time.perf_counter() - t0)
        if self.on_batch:
            self.on_batch(produced)

    def _publish(self, rows: list[bytes], builder: EnvelopeBuilder,
                 writer: KafkaWriter) -> tuple[int, int]:
        produced = 0
        end_lsn = 0
        begin: Begin | None = None
        pending: list[Change] = []
        counts: Counter[tuple[str, str]] = Counter()  # metrics once per batch, not per row
        decode = self.decoder.decode
        for row in rows:
            msg = decode(row)
            if isinstance(msg, Change):
                pending.append(msg)
            elif isinstance(msg, Begin):
                begin = msg
                pending = []
            elif isinstance(msg, Commit):
                assert begin is not None
                produced += self._emit(pending, begin, msg, builder, writer, counts)
                end_lsn = msg.end_lsn
                pending = []
            elif isinstance(msg, Truncate):
                assert begin is not None
                for rel in msg.relations:
                    topic = builder.topic(rel.table)
                    if topic:
                        writer.produce(topic, None, builder.value(
                            op="t", table=rel.table, schema=rel.schema, before=None, after=None,
                            commit_ts_ms=begin.commit_ts_ms, xid=begin.xid,
                            lsn=begin.final_lsn))
                        counts[rel.table, "t"] += 1
                        produced += 1
        for (table, op), n in counts.items():
            metrics.EVENTS.labels(table=table, op=op).inc(n)
        return produced, end_lsn

    def _emit(self, pending: list[Change], begin: Begin, commit: Commit,
              builder: EnvelopeBuilder, writer: KafkaWriter,
              counts: Counter[tuple[str, str]]) -> int:
        n = 0
        for change in pending:
            rel = change.relation
            topic = builder.topic(rel.table)
            if topic is None:
                metrics.UNKNOWN_TABLE.labels(table=rel.table).inc()
                log.warning("change for table %s.%s not in topics.yaml; skipped",
                            rel.schema, rel.table)
                continue
            try:
                if change.error is not None:
                    raise Unpublishable(change.error)
                if change.op == "u" and builder.key_changed(rel.table, change.before,
                                                            change.after):
                    n += self._emit_key_change(change, topic, begin, commit, builder, writer,
                                               counts)
                    continue
                row = change.after or change.before or {}
                key, partition = builder.key(rel.table, row), builder.partition(rel.table, row)
                value = builder.value(
                    op=change.op, table=rel.table, schema=rel.schema, before=change.before,
                    after=change.after, commit_ts_ms=commit.commit_ts_ms, xid=begin.xid,
                    lsn=commit.commit_lsn)
            except (Unpublishable, KeyError, TypeError, ValueError) as exc:
                self._dead_letter(writer, builder, topic, change.op, rel.table, change.before,
                                  change.after, exc, lsn=commit.commit_lsn)
                continue
            writer.produce(topic, key, value, partition)
            if change.op == "d":
                writer.produce(topic, key, None, partition)  # tombstone, for compaction
            counts[rel.table, change.op] += 1
            n += 1
        return n

    def _emit_key_change(self, change: Change, topic: str, begin: Begin, commit: Commit,
                         builder: EnvelopeBuilder, writer: KafkaWriter,
                         counts: Counter[tuple[str, str]]) -> int:
        """An update of the primary key, as Debezium publishes it: a delete and a tombstone
        under the old key (header `__debezium.newkey`), then a create under the new key
        (header `__debezium.oldkey`), so the old key leaves the compacted topic."""
        rel, before, after = change.relation, change.before, change.after
        assert before is not None and after is not None
        old_key, new_key = builder.key(rel.table, before), builder.key(rel.table, after)
        old_partition = builder.partition(rel.table, before)
        new_partition = builder.partition(rel.table, after)
        common: dict[str, Any] = {"table": rel.table, "schema": rel.schema, "xid": begin.xid,
                                  "commit_ts_ms": commit.commit_ts_ms, "lsn": commit.commit_lsn}
        deleted = builder.value(op="d", before=before, after=None, **common)
        created = builder.value(op="c", before=None, after=after, **common)
        writer.produce(topic, old_key, deleted, old_partition, [(NEW_KEY, new_key)])
        writer.produce(topic, old_key, None, old_partition)
        writer.produce(topic, new_key, created, new_partition, [(OLD_KEY, old_key)])
        counts[rel.table, "d"] += 1
        counts[rel.table, "c"] += 1
        return 2

    def _dead_letter(self, writer: KafkaWriter, builder: EnvelopeBuilder, topic: str, op: str,
                     table: str, before: dict[str, Any] | None, after: dict[str, Any] | None,
                     error: BaseException, lsn: int | None) -> None:
        """A change the contract cannot carry goes to its table's dead-letter topic: the row as
        read (unreadable values as PostgreSQL's text), the reason in the headers. CDC goes on."""
        reason = f"change of {table} not publishable: {error}"
        try:
            key: bytes | None = builder.key(table, after or before or {})
        except (KeyError, TypeError, ValueError):
            key = None
        value = orjson.dumps({"before": before, "after": after, "op": op,
                              "source": {"table": table, "lsn": lsn}}, default=str)
        writer.produce(dlq_topic(topic), key, value, None,
                       dead_letter_headers(reason, topic, None, None, "cdc"))
        self.stats.dead_letters += 1
        metrics.DEAD_LETTERS.labels(table=table).inc()
        log.warning("%s (lsn %s): sent to %s", reason, lsn, dlq_topic(topic))

    def _flush_with_retry(self, writer: KafkaWriter, rows: list[bytes], builder: EnvelopeBuilder,
                          stream: ReplicationStream, stop: threading.Event) -> None:
        delay = 0.5
        while True:
            try:
                writer.flush()
                return
            except (DeliveryFailed, KafkaException) as exc:
                if stop.is_set():
                    raise  # not confirmed: the next run re-sends the batch
                self.stats.retries += 1
                metrics.RETRIES.inc()
                log.warning("broker did not acknowledge the batch (%s); resending in %.1fs",
                            exc, delay)
                stream.keep_alive()
                stop.wait(delay)
                delay = min(delay * 2, 10.0)
                # Re-decode from the same rows: the slot was not confirmed, nothing is lost.
                self._publish(rows, builder, writer)
