"""The ERP sink: applies `erp.commands` to the ERP database, exactly once per idempotency key.

One transaction per batch. Consecutive order-creating commands are applied set-based (one
statement per type) inside a savepoint; when the ERP rejects any of them the savepoint is rolled
back and the run is applied again one command per savepoint, so a command the ERP rejects
(constraint, unknown product, invalid data) fails alone and the rest of the batch is applied.

Transient failures (connection lost, ERP stopped, serialization failure, deadlock) abandon the
batch's transaction and retry the whole batch, in order, after a capped exponential backoff:
order per key is kept and nothing is applied twice, because every command writes its ledger row
(`topllantas.applied_commands`) in the same statement as its ERP rows.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import asyncpg

from schemas.commands import CommandResult, ErpCommand
from schemas.settings import Settings
from sinks.backoff import Backoff
from sinks.db_errors import describe, is_permanent, is_transient
from sinks.erp import statements

log = logging.getLogger(__name__)

Statement = Callable[[asyncpg.Connection, Any], Awaitable[statements.Recorded]]
STATEMENTS: dict[str, Statement] = {
    "create_purchase_order_draft": statements.create_purchase_order_drafts,
    "add_purchase_order_line": statements.add_purchase_order_lines,
    "create_stock_transfer": statements.create_stock_transfer,
    "create_sales_order": statements.create_sales_orders,
    "assign_delivery_route": statements.assign_delivery_route,
    "update_delivery_eta": statements.update_delivery_eta,
    "reschedule_delivery": statements.reschedule_delivery,
}
# Commands that only create fresh rows (and add to stock.reserved) never interact with one
# another: a run of consecutive such commands is applied set-based, one statement per type.
SET_BASED = {"create_purchase_order_draft", "create_sales_order"}

LEDGER_LOOKUP = """
SELECT idempotency_key, result FROM topllantas.applied_commands
WHERE idempotency_key = ANY($1::text[])
"""


class ErpUnavailable(RuntimeError):
    """The ERP stayed unreachable longer than the backoff's `give_up_after_s`."""


class ErpSink:
    """Writes ERP commands through a small asyncpg pool as the least-privilege sink role.

    Construct with `ErpSink.from_settings(settings)`, then `await sink.start()` (or use
    `async with`). `start` does not need the ERP to be up: connections are opened on demand.
    """

    def __init__(self, dsn: str, *, pool_size: int = 4, backoff: Backoff | None = None,
                 statement_timeout_s: float = 5.0) -> None:
        self._dsn = dsn
        self._pool_size = pool_size
        self._backoff = backoff or Backoff(base_s=0.2, cap_s=5.0)
        self._timeout_s = statement_timeout_s
        self._pool: asyncpg.Pool | None = None

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> ErpSink:
        return cls(settings.erp_sink_dsn(), **kwargs)

    async def start(self) -> None:
        self._pool = await asyncpg.create_pool(
            self._dsn, min_size=0, max_size=self._pool_size, timeout=self._timeout_s,
            command_timeout=self._timeout_s, init=_init_connection,
            server_settings={"application_name": "topllantas-erp-sink", "TimeZone": "UTC"})

    async def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool = None

    async def __aenter__(self) -> ErpSink:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def apply_batch(self, commands: Sequence[ErpCommand]) -> list[CommandResult]:
        """Apply `commands` in order; one result per command, in the same order.

        Blocks (retrying) while the ERP is unreachable. A key that an earlier attempt of this
        call found new and a retry finds recorded was committed by that attempt: "applied".
        """
        if not commands:
            return []
        started = time.monotonic()
        new_keys: set[str] = set()
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._attempt(commands, new_keys)
            except Exception as exc:
                if not is_transient(exc):
                    raise
                elapsed = time.monotonic() - started
                if self._backoff.exhausted(elapsed):
                    raise ErpUnavailable(f"ERP unreachable for {elapsed:.0f} s: "
                                         f"{describe(exc)}") from exc
                delay = self._backoff.delay(attempt)
                log.warning("ERP write failed transiently (%s); retrying the batch of %d in "
                            "%.2f s (attempt %d)", describe(exc), len(commands), delay, attempt)
                await asyncio.sleep(delay)

    async def _attempt(self, commands: Sequence[ErpCommand],
                       new_keys: set[str]) -> list[CommandResult]:
        if self._pool is None:
            raise RuntimeError("ErpSink.start() was not awaited")
        conn: asyncpg.Connection = await self._pool.acquire(timeout=self._timeout_s)
        try:
            transaction = conn.transaction()
            await transaction.start()
            results = await self._apply_in_transaction(conn, commands, new_keys)
            await transaction.commit()
            return results
        except BaseException:
            # No ROLLBACK round trip to a server that may be gone or frozen: closing the
            # connection aborts the transaction, and a connection that timed out mid-protocol
            # must not be reused anyway.
            conn.terminate()
            raise
        finally:
            await self._pool.release(conn)

    async def _apply_in_transaction(self, conn: asyncpg.Connection,
                                    commands: Sequence[ErpCommand],
                                    new_keys: set[str]) -> list[CommandResult]:
        keys = [c.idempotency_key for c in commands]
        recorded: dict[str, dict] = {
            r["idempotency_key"]: r["result"] for r in await conn.fetch(LEDGER_LOOKUP, keys)}
        failed: dict[str, str] = {}
        taken: set[str] = set()  # keys another transaction recorded after our lookup
        pending: dict[str, ErpCommand] = {}  # first occurrence of each key not yet recorded
        for command in commands:
            if command.idempotency_key not in recorded:
                pending.setdefault(command.idempotency_key, command)
        new_keys.update(pending)
        for run in _runs(list(pending.values())):
            if len(run) > 1 and await self._apply_run(conn, run, recorded, taken):
                continue
            for command in run:
                await self._apply_one(conn, command, recorded, taken, failed)
        if taken:
            recorded.update({r["idempotency_key"]: r["result"]
                             for r in await conn.fetch(LEDGER_LOOKUP, list(taken))})
        ours = new_keys - taken
        results: list[CommandResult] = []
        for command in commands:
            results.append(_result_of(command, recorded, failed, ours))
            ours.discard(command.idempotency_key)  # a repeat within the batch is a duplicate
        return results

    async def _apply_run(self, conn: asyncpg.Connection, run: list[ErpCommand],
                         recorded: dict[str, dict], taken: set[str]) -> bool:
        """One statement per command type for the whole run, in one savepoint.

        False (rolled back) when the ERP rejects any command of the run.
        """
        groups: dict[str, list[ErpCommand]] = {}
        for command in run:
            groups.setdefault(command.type, []).append(command)
        savepoint = conn.transaction()
        await savepoint.start()
        done: dict[str, dict] = {}
        try:
            for kind, commands in groups.items():
                done.update(await STATEMENTS[kind](conn, commands))
        except Exception as exc:
            if not is_permanent(exc):
                raise
            await savepoint.rollback()
            return False
        await savepoint.commit()
        recorded.update(done)
        taken.update(c.idempotency_key for c in run if c.idempotency_key not in done)
        return True

    async def _apply_one(self, conn: asyncpg.Connection, command: ErpCommand,
                         recorded: dict[str, dict], taken: set[str],
                         failed: dict[str, str]) -> None:
        savepoint = conn.transaction()
        await savepoint.start()
        try:
            done = await STATEMENTS[command.type](conn, [command])
        except Exception as exc:
            if not is_permanent(exc):
                raise
            await savepoint.rollback()
            log.info("ERP rejected %s %s: %s", command.type, command.idempotency_key,
                     describe(exc))
            failed[command.idempotency_key] = describe(exc)
            return
        await savepoint.commit()
        if done:
            recorded.update(done)
        else:
            taken.add(command.idempotency_key)



def _result_of(command: ErpCommand, recorded: dict[str, dict], failed: dict[str, str],
               ours: set[str]) -> CommandResult:
    key = command.idempotency_key
    if key in failed:
        return _result(command, "failed", None, failed[key])
    return _result(command, "applied" if key in ours else "duplicate", recorded[key])


def _runs(commands: list[ErpCommand]) -> list[list[ErpCommand]]:
    """Consecutive set-based commands form a run; any other command runs alone, in its place."""
    runs: list[list[ErpCommand]] = []
    for command in commands:
        if runs and command.type in SET_BASED and runs[-1][0].type in SET_BASED:
            runs[-1].append(command)
        else:
            runs.append([command])
    return runs


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads,
                              schema="pg_catalog")


def _result(command: ErpCommand, status: str, ledger: dict | None,
            error: str | None = None) -> CommandResult:
    ids = [int(i) for i in (ledger or {}).get("entity_ids", [])]
    return CommandResult(idempotency_key=command.idempotency_key, command_type=command.type,
                         status=status, entity_ids=ids, error=error, at=datetime.now(UTC))
