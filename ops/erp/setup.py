"""Apply the reference ERP's schema and the pipeline's least-privilege roles (idempotent)."""

from __future__ import annotations

from pathlib import Path

import asyncpg

HERE = Path(__file__).resolve().parent


async def apply_schema(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute((HERE / "schema.sql").read_text())
        await conn.execute((HERE / "roles.sql").read_text())
    finally:
        await conn.close()


async def reset_data(dsn: str) -> None:
    """Empty every ERP table (tests and `erp seed --reset`)."""
    conn = await asyncpg.connect(dsn)
    try:
        tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        if tables:
            names = ", ".join(f'public."{t["tablename"]}"' for t in tables)
            await conn.execute(f"TRUNCATE {names} CASCADE")
        await conn.execute("TRUNCATE topllantas.applied_commands, topllantas.sent_messages")
    finally:
        await conn.close()
