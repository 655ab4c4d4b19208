"""Rebuild tables from their CDC topics and read the ERP's exact state, to compare them."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import asyncpg
import orjson

from schemas.topics import load_catalogue
from sources.cdc.snapshot import table_rows
from tests.integration.kafka_read import Record, read_all


def rebuild(records: list[Record]) -> dict[str, dict[bytes, dict[str, Any]]]:
    """Apply every change event in topic order: the state a consumer ends up with."""
    tables = {spec.name: spec.table for spec in load_catalogue().cdc_tables.values()}
    state: dict[str, dict[bytes, dict[str, Any]]] = {t: {} for t in tables.values()}
    for rec in records:
        table = tables.get(rec.topic)
        if table is None or rec.value is None:
            continue
        event = orjson.loads(rec.value)
        if event["op"] == "t":
            state[table].clear()
        elif event["op"] == "d":
            state[table].pop(rec.key, None)
        else:
            state[table][rec.key] = event["after"]
    return state


def duplicates(records: list[Record]) -> int:
    """Change events seen more than once (same table, key, commit LSN and images)."""
    seen: Counter[tuple] = Counter()
    for r in records:
        if r.value is None:
            continue
        event = orjson.loads(r.value)
        if event["source"]["snapshot"] == "false":
            seen[(r.topic, r.key, event["source"]["lsn"], event["op"],
                  orjson.dumps(event["after"]))] += 1
    return sum(n - 1 for n in seen.values())


async def erp_state(dsn: str) -> dict[str, dict[bytes, dict[str, Any]]]:
    catalogue = load_catalogue()
    conn = await asyncpg.connect(dsn, server_settings={"TimeZone": "UTC"})
    out: dict[str, dict[bytes, dict[str, Any]]] = {}
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            for table, spec in catalogue.cdc_tables.items():
                rows: dict[bytes, dict[str, Any]] = {}
                async for row, _error in table_rows(conn, catalogue.cdc_schema, table):
                    rows[orjson.dumps({c: row[c] for c in spec.key_columns})] = row
                out[table] = rows
    finally:
        await conn.close()
    return out


def read_cdc(bootstrap: str) -> list[Record]:
    return read_all(bootstrap, [s.name for s in load_catalogue().cdc_tables.values()])


def assert_converged(topic_state: dict, db_state: dict) -> None:
    for table, rows in db_state.items():
        got = topic_state.get(table, {})
        missing = rows.keys() - got.keys()
        extra = got.keys() - rows.keys()
        differ = [k for k in rows.keys() & got.keys() if rows[k] != got[k]]
        assert not missing and not extra and not differ, (
            f"{table}: {len(missing)} missing, {len(extra)} extra, {len(differ)} different; "
            f"e.g. {_example(rows, got, missing or extra or differ)}")


def _example(rows: dict, got: dict, keys: object) -> str:
    key = next(iter(keys), None)  # type: ignore[call-overload]
    return f"{key!r}: erp={rows.get(key)!r} topic={got.get(key)!r}"


async def snapshot_done(conn: asyncpg.Connection, slot: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await conn.fetchval("SELECT to_regclass('topllantas.cdc_snapshots') IS NOT NULL") and \
                await conn.fetchval(
                    "SELECT 1 FROM topllantas.cdc_snapshots WHERE slot_name = $1", slot):
            return
        await asyncio.sleep(0.1)
    raise TimeoutError("the CDC snapshot did not complete")
