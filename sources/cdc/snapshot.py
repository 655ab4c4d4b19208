"""Read a table's rows converted exactly as streamed changes are (one conversion path)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from sources.cdc.pgoutput import convert


async def table_rows(conn: asyncpg.Connection, schema: str, table: str, where: str = "TRUE",
                     *args: Any, prefetch: int = 5000) -> AsyncIterator[dict[str, Any]]:
    """Rows of `schema.table` (those matching `where`, with `args` as $1…) as JSON-ready
    dicts; must run inside a transaction."""
    columns = await conn.fetch(
        "SELECT a.attname, a.atttypid::int AS oid FROM pg_attribute a "
        "WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY a.attnum", f'{schema}."{table}"')
    select = ", ".join(f'"{c["attname"]}"::text' for c in columns)
    names = [(c["attname"], c["oid"]) for c in columns]
    query = f'SELECT {select} FROM {schema}."{table}" WHERE {where}'
    async for record in conn.cursor(query, *args, prefetch=prefetch):
        yield {name: (None if v is None else convert(oid, v))
               for (name, oid), v in zip(names, record, strict=True)}
