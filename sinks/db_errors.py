"""Which ERP failures are worth retrying and which belong to one command alone."""

from __future__ import annotations

import asyncio

import asyncpg

# SQLSTATE classes that say "try again later", not "this command is wrong":
# 08 connection exception, 40 transaction rollback (serialization failure, deadlock),
# 53 insufficient resources, 57 operator intervention (shutdown, cannot connect now),
# 58 system error (I/O), 55P03 lock not available.
TRANSIENT_SQLSTATE_CLASSES = ("08", "40", "53", "57", "58")
TRANSIENT_SQLSTATES = ("55P03",)


class CommandRejected(Exception):
    """The ERP cannot apply this command as it stands (unknown row, missing stock record...)."""


def is_transient(exc: BaseException) -> bool:
    """True when the whole batch should be retried later, in order, unchanged."""
    if isinstance(exc, asyncpg.PostgresError):
        state = exc.sqlstate or ""
        return state[:2] in TRANSIENT_SQLSTATE_CLASSES or state in TRANSIENT_SQLSTATES
    return isinstance(exc, (asyncpg.InterfaceError, OSError, asyncio.TimeoutError))


def is_permanent(exc: BaseException) -> bool:
    """True when the failure belongs to one command: it fails alone, the batch goes on."""
    if isinstance(exc, CommandRejected):
        return True
    return isinstance(exc, asyncpg.PostgresError) and not is_transient(exc)


def describe(exc: BaseException) -> str:
    """A reason for the dead letter: the server's message plus its detail, no DSN or secrets."""
    if isinstance(exc, asyncpg.PostgresError):
        detail = getattr(exc, "detail", None)
        text = f"{type(exc).__name__} [{exc.sqlstate}]: {getattr(exc, 'message', exc)}"
        return f"{text} ({detail})" if detail else text
    return f"{type(exc).__name__}: {exc}"
