"""Read a table's rows converted exactly as streamed changes are (one conversion path)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from sources.cdc.pgoutput import convert


async def table_rows(conn: asyncpg.Connection, schema: str, table: str, where: str = "TRUE",
                     *args: Any, prefetch: int = 5000
                     ) -> AsyncIterator[tuple[dict[str, Any], str | None]]:
    """Rows of `schema.table` (those matching `where`, with `args` as $1…) as JSON-ready
    dicts, each with None or why a value could not be converted (that value is then kept as
    PostgreSQL's text); must run inside a transaction."""
    columns = await conn.fetch(
        "SELECT a.attname, a.atttypid::int AS oid FROM pg_attribute a "
        "WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY a.attnum", f'{schema}."{table}"')
    select = ", ".join(f'"{c["attname"]}"::text' for c in columns)
    names = [(c["attname"], c["oid"]) for c in columns]
    query = f'SELECT {select} FROM {schema}."{table}" WHERE {where}'
    async for record in conn.cursor(query, *args, prefetch=prefetch):
        try:
            yield {name: (None if v is None else convert(oid, v))
                   for (name, oid), v in zip(names, record, strict=True)}, None
        except (ValueError, IndexError):
            yield row_as_far_as_readable(names, record)


def row_as_far_as_readable(names: list[tuple[str, int]], record: Any
                            ) -> tuple[dict[str, Any], str]:
    row: dict[str, Any] = {}
    problems = []
    for (name, oid), v in zip(names, record, strict=True):
        try:
            row[name] = None if v is None else convert(oid, v)
        except (ValueError, IndexError) as exc:
            row[name] = v
            problems.append(f"column {name!r} value {v!r}: {exc}")
    return row, "; ".join(problems)
