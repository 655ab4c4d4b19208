"""Apply the reference ERP's schema and the pipeline's least-privilege roles (idempotent)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote, urlsplit

import asyncpg

from schemas.settings import READER_ROLE, SINK_ROLE, get_settings

HERE = Path(__file__).resolve().parent


async def apply_schema(dsn: str, role_dsns: Iterable[str] | None = None) -> None:
    """Schema and roles; a role URL that carries a password (`role_dsns`, by default the
    configured ERP_SINK_DATABASE_URL / ERP_READER_DATABASE_URL) sets that role's password, so
    the roles accept exactly what the processes connect with."""
    if role_dsns is None:
        settings = get_settings()
        role_dsns = [url.get_secret_value() for url in
                     (settings.erp_sink_database_url, settings.erp_reader_database_url) if url]
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute((HERE / "schema.sql").read_text())
        await conn.execute((HERE / "roles.sql").read_text())
        for role_dsn in role_dsns:
            parts = urlsplit(role_dsn)
            user, password = unquote(parts.username or ""), parts.password
            if user in (SINK_ROLE, READER_ROLE) and password:
                await conn.execute(await conn.fetchval(
                    "SELECT format('ALTER ROLE %I PASSWORD %L', $1::text, $2::text)",
                    user, unquote(password)))
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
